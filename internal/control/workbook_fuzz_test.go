package control_test

import (
	"encoding/json"
	"testing"

	"github.com/mamori-dev/mamori/internal/control"
)

// FuzzDecodeWorkbookJSON: no input may crash the JSON assessment reader,
// and what it accepts names every row.
func FuzzDecodeWorkbookJSON(f *testing.F) {
	wb := control.Workbook{Schema: control.WorkbookSchema,
		Assessment: control.WorkbookAssessment{ID: "01890000-0000-7000-8000-000000000001", Title: "t", Catalog: "fsa-csgl@2025-07-04", Profile: control.ProfileBasic,
			Scope: []control.ScopeEntry{{Kind: control.ScopeOrganisation}}, PeriodStart: "2026-04-01", PeriodEnd: "2027-03-31"},
		Items:    []control.WorkbookItem{{Item: "FSA-CSGL-2.1.1-B01", Status: "implemented", Explanation: "済"}},
		Evidence: []control.WorkbookEvidence{{Item: "FSA-CSGL-2.1.1-B01", Kind: "url", Title: "x", URL: "https://x", EffectiveOn: "2026-04-01"}},
		Tasks:    []control.WorkbookTask{{Title: "t", State: "open"}}}
	b, _ := json.Marshal(wb)
	f.Add(b)
	f.Add([]byte(`{"schema":"mamori.assessment/v1","items":[{"row":1}]}`))
	f.Add([]byte(`{"schema":"mamori.assessment/v1"} {}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		wb, err := control.DecodeWorkbookJSON(data)
		if err != nil {
			return
		}
		if wb.Where == nil || wb.Assessment.Scope == nil || wb.Assessment.Conditions == nil {
			t.Fatalf("accepted workbook is incomplete: %+v", wb)
		}
		for i, it := range wb.Items {
			if it.Row != i+1 {
				t.Fatalf("item %d has row %d", i, it.Row)
			}
		}
	})
}
