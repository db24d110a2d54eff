package sheet_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/control"
	"github.com/mamori-dev/mamori/internal/format/sheet"
)

// sample is a workbook with the values that break naive spreadsheet code:
// Japanese, line breaks, leading equals signs and zeros, empty cells, dates.
func sample() *control.Workbook {
	return &control.Workbook{
		Schema: control.WorkbookSchema,
		Assessment: control.WorkbookAssessment{ID: "01890000-0000-7000-8000-000000000001", Title: "2026年度 自己評価 =SUM(A1)",
			Catalog: "fsa-csgl@2025-07-04", Profile: control.ProfileCustom,
			Scope:      []control.ScopeEntry{{Kind: control.ScopeText, Label: "インターネットバンキング"}, {Kind: control.ScopeSystem, Ref: "01890000-0000-7000-8000-0000000000aa", Label: "勘定系"}},
			Conditions: []string{"fmi", "sbom-provided"}, PeriodStart: "2026-04-01", PeriodEnd: "2027-03-31", State: control.StateOpen,
			PreviousID: "", SignedOffBy: "", SignedOffAt: ""},
		Items: []control.WorkbookItem{
			{Item: "FSA-CSGL-2.1.1-B01", Ref: "2.1.1 ①", Title: "方針の策定", Tier: "basic", InScope: "yes", Status: "implemented",
				Owner: "owner@example.jp", DueDate: "2026-06-30", Explanation: "取締役会で承認。\n2行目", Notes: "=1+1", Review: "agreed", ReviewedBy: "risk@example.jp"},
			{Item: "FSA-CSGL-2.1.1-B02", Ref: "2.1.1 ②", Title: "Plan", Tier: "basic", InScope: "yes", Status: "planned", TargetDate: "2026-12-31"},
			{Item: "FSA-CSGL-2.1.1-Da", Ref: "2.1.1 a", Tier: "desirable", InScope: "no (excluded)", Status: "open", Excluded: "yes",
				ExcludeReason: "対象システムなし", ExcludeUntil: "2027-03-31", ExcludeStatus: "approved"},
			{Item: "FSA-CSGL-2.2.3-B03", Status: "risk_accepted", AcceptReason: "000123 legacy", AcceptUntil: "2026-09-30", AcceptStatus: "pending"},
		},
		Evidence: []control.WorkbookEvidence{
			{ID: "01890000-0000-7000-8000-000000000002", Item: "FSA-CSGL-2.1.1-B01", Kind: "url", Title: "方針", URL: "https://intra.example.jp/p?a=1&b=2",
				EffectiveOn: "2026-04-01", ExpiresOn: "2027-04-01", AddedBy: "ciso@example.jp", AddedAt: "2026-04-01T09:00:00Z"},
			{ID: "01890000-0000-7000-8000-000000000003", Item: "FSA-CSGL-2.1.1-B01", Kind: "file", Title: "minutes.pdf", SHA256: strings.Repeat("ab", 32),
				FileName: "議事録.pdf", Size: "1234", MediaType: "application/pdf", EffectiveOn: "2026-03-15", NeedsRenewal: "yes"},
		},
		Tasks: []control.WorkbookTask{
			{ID: "01890000-0000-7000-8000-000000000004", Item: "FSA-CSGL-2.1.1-B02", Title: "計画策定", Description: "- a\n- b", Owner: "owner@example.jp",
				DueDate: "2026-05-31", State: "done", DoneBy: "owner@example.jp", DoneAt: "2026-05-20T01:02:03Z", DoneNote: "済"},
			{ID: "", Title: "New task from Excel", State: "open"},
		},
	}
}

func strip(wb *control.Workbook) *control.Workbook {
	cp := *wb
	cp.Where = nil
	cp.Items = append([]control.WorkbookItem(nil), wb.Items...)
	for i := range cp.Items {
		cp.Items[i].Row = 0
	}
	cp.Evidence = append([]control.WorkbookEvidence(nil), wb.Evidence...)
	for i := range cp.Evidence {
		cp.Evidence[i].Row = 0
	}
	cp.Tasks = append([]control.WorkbookTask(nil), wb.Tasks...)
	for i := range cp.Tasks {
		cp.Tasks[i].Row = 0
	}
	return &cp
}

func TestWorkbookRoundTrip(t *testing.T) {
	for _, lang := range []string{"ja", "en"} {
		var buf bytes.Buffer
		in := sample()
		if err := sheet.WriteWorkbook(&buf, in, lang); err != nil {
			t.Fatal(err)
		}
		out, err := sheet.ReadWorkbook(buf.Bytes())
		if err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		if !reflect.DeepEqual(strip(out), in) {
			t.Errorf("%s: round trip differs:\n got %+v\nwant %+v", lang, strip(out), in)
		}
		if out.Items[1].Row != 3 || out.Tasks[1].Row != 3 {
			t.Errorf("rows: %d %d", out.Items[1].Row, out.Tasks[1].Row)
		}
		if got := out.Where(control.SheetItems, 3, "target_date"); got != "Items, row 3, column G (target_date)" {
			t.Errorf("where: %q", got)
		}
		// Written again, the bytes describe the same workbook.
		var again bytes.Buffer
		if err := sheet.WriteWorkbook(&again, out, lang); err != nil {
			t.Fatal(err)
		}
		out2, err := sheet.ReadWorkbook(again.Bytes())
		if err != nil || !reflect.DeepEqual(strip(out2), in) {
			t.Errorf("%s: second round trip differs: %v", lang, err)
		}
	}
}

// edit opens a written workbook, applies fn, and returns the new bytes.
func edit(t *testing.T, data []byte, fn func(f *excelize.File)) []byte {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	fn(f)
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWorkbookEditedInExcel(t *testing.T) {
	var buf bytes.Buffer
	if err := sheet.WriteWorkbook(&buf, sample(), "ja"); err != nil {
		t.Fatal(err)
	}
	// People reorder columns, type dates with slashes, add their own
	// columns and leave blank rows.
	data := edit(t, buf.Bytes(), func(f *excelize.File) {
		_ = f.InsertCols("Items", "A", 1)
		_ = f.SetCellStr("Items", "A1", "社内メモ")
		_ = f.SetCellStr("Items", "A2", "確認済")
		_ = f.SetCellStr("Items", "K3", "2026/7/1") // due_date moved one column right
		_ = f.InsertRows("Items", 4, 1)
	})
	wb, err := sheet.ReadWorkbook(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(wb.Items) != 4 || wb.Items[1].DueDate != "2026-07-01" || wb.Items[1].Item != "FSA-CSGL-2.1.1-B02" {
		t.Errorf("edited items: %+v", wb.Items)
	}
	if wb.Items[2].Row != 5 {
		t.Errorf("row after the blank one: %d", wb.Items[2].Row)
	}
}

func TestMalformedWorkbook(t *testing.T) {
	var buf bytes.Buffer
	if err := sheet.WriteWorkbook(&buf, sample(), "en"); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	for _, tc := range []struct {
		name  string
		data  []byte
		place string // a field the error must name
	}{
		{"not xlsx", []byte("item,status\n"), ""},
		{"truncated", good[:len(good)/2], ""},
		{"no items sheet", edit(t, good, func(f *excelize.File) { _ = f.DeleteSheet("Items") }), "Items"},
		{"no status column", edit(t, good, func(f *excelize.File) { _ = f.RemoveCol("Items", "F") }), "Items, row 1 (status)"},
		{"duplicate column", edit(t, good, func(f *excelize.File) { _ = f.SetCellStr("Items", "G1", "Status (status)") }), "Items, row 1, column G (status)"},
		{"no catalog row", edit(t, good, func(f *excelize.File) { _ = f.RemoveRow("Assessment", 4) }), "Assessment, catalog"},
		{"duplicate header row", edit(t, good, func(f *excelize.File) { _ = f.SetCellStr("Assessment", "A5", "Title (title)") }), "Assessment, row 5, column A (title)"},
	} {
		_, err := sheet.ReadWorkbook(tc.data)
		if mamori.ErrorCode(err) != mamori.EINVALID {
			t.Errorf("%s: err %v, want invalid", tc.name, err)
			continue
		}
		if tc.place != "" {
			if _, ok := mamori.ErrorFields(err)[tc.place]; !ok {
				t.Errorf("%s: fields %v lack %q", tc.name, mamori.ErrorFields(err), tc.place)
			}
		}
	}
}

func TestTooManyRows(t *testing.T) {
	var buf bytes.Buffer
	if err := sheet.WriteWorkbook(&buf, sample(), "en"); err != nil {
		t.Fatal(err)
	}
	data := edit(t, buf.Bytes(), func(f *excelize.File) {
		sw, _ := f.NewStreamWriter("Tasks")
		_ = sw.SetRow("A1", []any{"Task ID (id)", "Item ID (item)", "Title (title)"})
		for r := 2; r <= sheet.MaxRows+2; r++ {
			cell, _ := excelize.CoordinatesToCellName(3, r)
			_ = sw.SetRow(cell, []any{"t"})
		}
		_ = sw.Flush()
	})
	if _, err := sheet.ReadWorkbook(data); mamori.ErrorCode(err) != mamori.EINVALID || !strings.Contains(mamori.ErrorMessage(err)+strings.Join(values(mamori.ErrorFields(err)), " "), "more than") {
		t.Errorf("too many rows: %v", err)
	}
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func checkRows() []control.CheckRow {
	return []control.CheckRow{
		{Ref: "1-a", Item: "本人認証の強化\n単純なパスワードが…", Answer: "対応済み", Explanation: "パスワードポリシー4段階、TOTP・FIDOに対応。"},
		{Ref: "1-b", Item: "情報資産の把握", Answer: "一部対応", Explanation: "=HYPERLINK(\"http://evil\")"},
		{Ref: "3-b", Item: "手順の確認", Answer: "対応予定（2026-09-30）", Explanation: ""},
	}
}

func TestCheckSheetRoundTrip(t *testing.T) {
	for _, format := range []string{"csv", "xlsx"} {
		for _, lang := range []string{"ja", "en"} {
			var buf bytes.Buffer
			var err error
			if format == "csv" {
				err = sheet.WriteCheckSheetCSV(&buf, checkRows(), lang)
			} else {
				err = sheet.WriteCheckSheetXLSX(&buf, "SPIRAL 回答早見表", checkRows(), lang)
			}
			if err != nil {
				t.Fatal(err)
			}
			if format == "csv" {
				if !bytes.HasPrefix(buf.Bytes(), []byte{0xEF, 0xBB, 0xBF}) {
					t.Error("CSV without BOM")
				}
				if !strings.Contains(buf.String(), `"'=HYPERLINK`) {
					t.Errorf("formula not defused: %s", buf.String())
				}
			}
			got, err := sheet.ReadCheckSheet(buf.Bytes())
			if err != nil {
				t.Fatalf("%s %s: %v", format, lang, err)
			}
			if !reflect.DeepEqual(got, checkRows()) {
				t.Errorf("%s %s: got %+v", format, lang, got)
			}
		}
	}
}

func TestMalformedCheckSheet(t *testing.T) {
	for _, tc := range []struct {
		name, data, place string
	}{
		{"no header", "a,b,c,d\n1,2,3,4\n", ""},
		{"bad quote", "項番,項目,回答,説明\n1-a,\"x,y\n", ""},
		{"missing answer", "項番,項目,回答,説明\n1-a,x,,y\n", "CSV, row 2, column C (answer)"},
		{"missing number", "No.,Item,Answer,Explanation\n,x,Implemented,y\n", "CSV, row 2, column A (no)"},
		{"fifth column", "項番,項目,回答,説明\n1-a,x,対応済み,y,extra\n", "CSV, row 2, column E (extra)"},
		{"shift_jis", "\x8d\x80\x94\xd4,a,b,c\n", ""},
	} {
		_, err := sheet.ReadCheckSheet([]byte(tc.data))
		if mamori.ErrorCode(err) != mamori.EINVALID {
			t.Errorf("%s: err %v, want invalid", tc.name, err)
			continue
		}
		if tc.place != "" {
			if _, ok := mamori.ErrorFields(err)[tc.place]; !ok {
				t.Errorf("%s: fields %v lack %q", tc.name, mamori.ErrorFields(err), tc.place)
			}
		}
	}
}
