package control_test

import (
	"bytes"
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/auth"
	"github.com/mamori-dev/mamori/internal/control"
	"github.com/mamori-dev/mamori/internal/format/sheet"
	"github.com/mamori-dev/mamori/internal/mamoritest"
)

// exportXLSX exports an assessment the way the UI does and reads it back.
func exportXLSX(t *testing.T, e *mamoritest.Env, u *auth.User, id string) (*control.Workbook, []byte) {
	t.Helper()
	snap, err := e.Control.Snapshot(as(u), id)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := sheet.WriteWorkbook(&buf, snap.ToWorkbook(false), "ja"); err != nil {
		t.Fatal(err)
	}
	wb, err := sheet.ReadWorkbook(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return wb, buf.Bytes()
}

func plain(wb *control.Workbook) *control.Workbook {
	cp := *wb
	cp.Where = nil
	cp.Items = append([]control.WorkbookItem(nil), wb.Items...)
	cp.Evidence = append([]control.WorkbookEvidence(nil), wb.Evidence...)
	cp.Tasks = append([]control.WorkbookTask(nil), wb.Tasks...)
	for i := range cp.Items {
		cp.Items[i].Row = 0
	}
	for i := range cp.Evidence {
		cp.Evidence[i].Row = 0
	}
	for i := range cp.Tasks {
		cp.Tasks[i].Row = 0
	}
	return &cp
}

// TestWorkbookRoundTripWithoutLoss: an assessment exported to XLSX and
// imported back changes nothing, and exports to the same workbook; edits
// made in Excel are applied; a malformed sheet changes nothing and names
// each bad row and column.
func TestWorkbookRoundTripWithoutLoss(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *mamoritest.Env) {
		p := newPeople(e)
		ctx := as(p.writer)
		a, err := e.Control.CreateAssessment(ctx, control.NewAssessment{Title: "FY2026", Catalog: "fsa-csgl", Profile: control.ProfileCustom,
			Scope: control.ParseScope("インターネットバンキング\nsystem:01890000-0000-7000-8000-0000000000aa 勘定系"), Conditions: []string{"fmi"},
			PeriodStart: day("2026-04-01"), PeriodEnd: day("2027-03-31")})
		if err != nil {
			t.Fatal(err)
		}
		answer(t, e, p.writer, a, "FSA-CSGL-2.1.1-B01", control.Answer{Status: control.ItemImplemented, OwnerID: p.owner.ID, DueDate: day("2026-06-30"), Explanation: "承認済み。\n改行あり", Notes: "=1+1"})
		answer(t, e, p.writer, a, "FSA-CSGL-2.1.1-B02", control.Answer{Status: control.ItemPlanned, TargetDate: day("2026-12-31")})
		answer(t, e, p.writer, a, "FSA-CSGL-2.1.1-B03", control.Answer{Status: control.ItemNotApplicable, Rationale: "該当業務なし"})
		if _, err := e.Control.RequestRiskAcceptance(ctx, a.ID, "FSA-CSGL-2.2.3-B03", 0, "旧システム", day("2026-09-30")); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Control.RequestExclusion(ctx, a.ID, "FSA-CSGL-2.4-B01", 0, "対象なし", day("2027-03-31")); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Control.ReviewItem(as(p.reviewer), a.ID, "FSA-CSGL-2.1.1-B01", 0, true, "OK"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Control.AddEvidence(ctx, a.ID, "FSA-CSGL-2.1.1-B01", control.EvidenceInput{Kind: control.EvidenceURL, Title: "方針", URL: "https://intra.example.jp/p", EffectiveOn: day("2026-04-01"), ExpiresOn: day("2027-04-01")}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Control.AddEvidenceFile(ctx, a.ID, "FSA-CSGL-2.1.1-B01", strings.NewReader("minutes"), "議事録.pdf", "application/pdf", control.EvidenceInput{EffectiveOn: day("2026-03-15")}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Control.CreateTask(ctx, a.ID, control.TaskInput{Title: "計画策定", NodeID: "FSA-CSGL-2.1.1-B02", OwnerID: p.owner.ID, DueDate: day("2026-05-31")}); err != nil {
			t.Fatal(err)
		}

		first, data := exportXLSX(t, e, p.writer, a.ID)
		if len(first.Items) != 176 || len(first.Evidence) != 2 || len(first.Tasks) != 1 {
			t.Fatalf("exported %d items, %d evidence, %d tasks", len(first.Items), len(first.Evidence), len(first.Tasks))
		}
		before, _ := e.DB.TableCounts(context.Background())
		res, err := e.Control.ImportWorkbook(ctx, first, control.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Created || res.ItemsChanged != 0 || res.EvidenceAdded != 0 || res.TasksCreated != 0 || res.TasksChanged != 0 {
			t.Errorf("re-importing an unchanged export changed things: %+v", res)
		}
		after, _ := e.DB.TableCounts(context.Background())
		if !reflect.DeepEqual(before, after) {
			t.Errorf("tables changed: %v → %v", before, after)
		}
		second, data2 := exportXLSX(t, e, p.writer, a.ID)
		if !reflect.DeepEqual(plain(first), plain(second)) {
			t.Error("the second export differs from the first")
		}
		_ = data2

		// A malformed sheet: every problem listed, nothing changed.
		bad, err := sheet.ReadWorkbook(data)
		if err != nil {
			t.Fatal(err)
		}
		row := func(node string) *control.WorkbookItem {
			for i := range bad.Items {
				if bad.Items[i].Item == node {
					return &bad.Items[i]
				}
			}
			t.Fatalf("no row %s", node)
			return nil
		}
		row("FSA-CSGL-2.1.1-B01").Status = "done"
		row("FSA-CSGL-2.1.1-B02").Owner = "nobody@example.jp"
		row("FSA-CSGL-2.1.1-B04").DueDate = "2026-13-01"
		row("FSA-CSGL-2.1.1-B05").Status = "not_applicable"
		bad.Items = append(bad.Items, control.WorkbookItem{Row: 999, Item: "FSA-CSGL-2.1.1-B01", Status: "implemented"})
		bad.Evidence = append(bad.Evidence, control.WorkbookEvidence{Row: 4, Item: "FSA-CSGL-2.1.1-B01", Kind: "file", Title: "x", SHA256: strings.Repeat("0", 64), EffectiveOn: "2026-04-01"})
		bad.Tasks = append(bad.Tasks, control.WorkbookTask{Row: 3, Title: "", State: "later"})
		_, err = e.Control.ImportWorkbook(ctx, bad, control.ImportOptions{})
		if mamori.ErrorCode(err) != mamori.EINVALID {
			t.Fatalf("malformed import: %v", err)
		}
		f := mamori.ErrorFields(err)
		rowOf := func(node string) string {
			for _, it := range bad.Items {
				if it.Item == node {
					return itoa(it.Row)
				}
			}
			return "?"
		}
		for _, want := range []string{
			"Items, row " + rowOf("FSA-CSGL-2.1.1-B01") + ", column F (status)",
			"Items, row " + rowOf("FSA-CSGL-2.1.1-B02") + ", column I (owner)",
			"Items, row " + rowOf("FSA-CSGL-2.1.1-B04") + ", column J (due_date)",
			"Items, row " + rowOf("FSA-CSGL-2.1.1-B05") + ", column H (rationale)",
			"Items, row 999, column A (item)",
			"Evidence, row 4, column H (sha256)",
			"Tasks, row 3, column C (title)",
			"Tasks, row 3, column G (state)",
		} {
			if _, ok := f[want]; !ok {
				t.Errorf("the error list lacks %q:\n%v", want, f)
			}
		}
		if after, _ := e.DB.TableCounts(context.Background()); !reflect.DeepEqual(before, after) {
			t.Errorf("a refused import changed tables: %v → %v", before, after)
		}
		if third, _ := exportXLSX(t, e, p.writer, a.ID); !reflect.DeepEqual(plain(first), plain(third)) {
			t.Error("a refused import changed the assessment")
		}

		// Edits made in Excel are applied.
		edit, _ := sheet.ReadWorkbook(data)
		for i := range edit.Items {
			switch edit.Items[i].Item {
			case "FSA-CSGL-2.1.1-B02":
				edit.Items[i].Status, edit.Items[i].TargetDate, edit.Items[i].Owner = "implemented", "", "risk@example.jp"
			case "FSA-CSGL-2.1.1-B01":
				edit.Items[i].Explanation = "改訂済み"
			}
		}
		edit.Evidence = append(edit.Evidence, control.WorkbookEvidence{Row: 4, Item: "FSA-CSGL-2.1.1-B02", Kind: "url", Title: "計画書", URL: "https://intra.example.jp/plan", EffectiveOn: "2026-04-10"})
		edit.Tasks[0].State, edit.Tasks[0].DoneNote = "done", "完了"
		edit.Tasks = append(edit.Tasks, control.WorkbookTask{Row: 3, Title: "追加タスク", Item: "FSA-CSGL-2.1.1-B01", State: "open"})
		res, err = e.Control.ImportWorkbook(ctx, edit, control.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.ItemsChanged != 2 || res.EvidenceAdded != 1 || res.TasksCreated != 1 || res.TasksChanged != 1 {
			t.Errorf("edit import: %+v", res)
		}
		snap, _ := e.Control.Snapshot(ctx, a.ID)
		if it := snap.Item("FSA-CSGL-2.1.1-B01"); it.Explanation != "改訂済み" || it.Review != "" {
			t.Errorf("edited explanation (and its review reset): %+v", it)
		}
		if it := snap.Item("FSA-CSGL-2.1.1-B02"); it.Status != control.ItemImplemented || it.OwnerID != p.reviewer.ID {
			t.Errorf("edited status and owner: %+v", it)
		}
		if it := snap.Item("FSA-CSGL-2.2.3-B03"); it.AcceptApproval.ID == "" {
			t.Error("an unchanged risk acceptance lost its approval")
		}
		v, _ := e.Control.ItemView(ctx, a.ID, "FSA-CSGL-2.1.1-B02")
		if len(v.History) == 0 || v.History[0].Details["source"] != "import" {
			t.Errorf("history of an imported change: %+v", v.History)
		}

		// Imported into another mamori: a new assessment, approvals left behind.
		e2 := mamoritest.NewEnv(t, e.DB.Dialect())
		p2 := newPeople(e2)
		e2files := e2.Files
		_ = e2files
		wb, _ := sheet.ReadWorkbook(data)
		_, err = e2.Control.ImportWorkbook(as(p2.writer), wb, control.ImportOptions{})
		if err == nil || !strings.Contains(strings.Join(fieldNames(mamori.ErrorFields(err)), " "), "Evidence") {
			t.Fatalf("import of file evidence the other store lacks: %v", err)
		}
		wb.Evidence = wb.Evidence[:1] // the URL only
		res, err = e2.Control.ImportWorkbook(as(p2.writer), wb, control.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Created || res.Assessment.ID != a.ID || res.NeedingApproval != 2 || res.EvidenceAdded != 1 || res.TasksCreated != 1 {
			t.Errorf("import as new: %+v", res)
		}
		snap2, err := e2.Control.Snapshot(as(p2.writer), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if it := snap2.Item("FSA-CSGL-2.2.3-B03"); it.Status != control.ItemRiskAccepted || it.AcceptApproval.ID != "" {
			t.Errorf("imported acceptance: %+v", it)
		}
		if len(snap2.Items) != 176 || snap2.Item("FSA-CSGL-2.1.1-B01").OwnerID != p2.owner.ID {
			t.Errorf("imported items: %d", len(snap2.Items))
		}
	})
}

func fieldNames(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
