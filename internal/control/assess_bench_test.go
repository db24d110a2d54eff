package control_test

import (
	"testing"

	"github.com/mamori-dev/mamori/internal/auth"
	"github.com/mamori-dev/mamori/internal/control"
	"github.com/mamori-dev/mamori/internal/mamoritest"
	"github.com/mamori-dev/mamori/internal/store"
)

// fullAssessment is an FSA guideline assessment with every item answered,
// one piece of evidence each and a task on every fifth item.
func fullAssessment(b *testing.B) (*mamoritest.Env, *auth.User, *control.Assessment) {
	e := mamoritest.NewEnv(b, store.SQLite)
	u := e.User("ciso@example.jp", true, auth.RoleSecurityManager)
	ctx := as(u)
	a, err := e.Control.CreateAssessment(ctx, control.NewAssessment{Title: "bench", Catalog: "fsa-csgl", Profile: control.ProfileBasicDesirable,
		Scope: control.ParseScope("organisation"), PeriodStart: day("2026-04-01"), PeriodEnd: day("2027-03-31")})
	if err != nil {
		b.Fatal(err)
	}
	lib, _ := control.Shipped()
	c, _ := lib.Catalog("fsa-csgl")
	for i, n := range c.Items() {
		st := []control.ItemStatus{control.ItemImplemented, control.ItemPartial, control.ItemNotImplemented}[i%3]
		if _, err := e.Control.UpdateItem(ctx, a.ID, n.ID, 0, control.Answer{Status: st, OwnerID: u.ID, DueDate: day("2026-09-30"),
			Explanation: "取締役会で承認した方針に基づき対応している。"}); err != nil {
			b.Fatal(err)
		}
		if _, err := e.Control.AddEvidence(ctx, a.ID, n.ID, control.EvidenceInput{Kind: control.EvidenceURL, Title: "規程",
			URL: "https://intra.example.jp/doc", EffectiveOn: day("2026-04-01")}); err != nil {
			b.Fatal(err)
		}
		if i%5 == 0 {
			if _, err := e.Control.CreateTask(ctx, a.ID, control.TaskInput{Title: "改善", NodeID: n.ID, OwnerID: u.ID}); err != nil {
				b.Fatal(err)
			}
		}
	}
	return e, u, a
}

// BenchmarkReportFSA reads a full assessment from SQLite and computes its
// rows, progress and gaps: what the overview, items and report pages do.
func BenchmarkReportFSA(b *testing.B) {
	e, u, a := fullAssessment(b)
	ctx := as(u)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Control.Report(ctx, a.ID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReportComputeFSA is the computation alone, from a snapshot.
func BenchmarkReportComputeFSA(b *testing.B) {
	e, u, a := fullAssessment(b)
	snap, err := e.Control.Snapshot(as(u), a.ID)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = snap.Report()
	}
}

// BenchmarkUpdateItem is one answer: load, validate, write with its audit
// event in one transaction.
func BenchmarkUpdateItem(b *testing.B) {
	e, u, a := fullAssessment(b)
	ctx := as(u)
	st := []control.ItemStatus{control.ItemImplemented, control.ItemPartial}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		if _, err := e.Control.UpdateItem(ctx, a.ID, "FSA-CSGL-2.2.3-B03", 0, control.Answer{Status: st[i%2]}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDashboard is the dashboard panel: the calendar of the FSA
// guideline's obligations, the user's tasks, assessments in review.
func BenchmarkDashboard(b *testing.B) {
	e, u, _ := fullAssessment(b)
	ctx := as(u)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Control.Dashboard(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkImportUnchanged re-imports a full assessment's own export (the
// all-or-nothing checks of every row, then no write).
func BenchmarkImportUnchanged(b *testing.B) {
	e, u, a := fullAssessment(b)
	ctx := as(u)
	snap, err := e.Control.Snapshot(ctx, a.ID)
	if err != nil {
		b.Fatal(err)
	}
	wb := snap.ToWorkbook(false)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Control.ImportWorkbook(ctx, wb, control.ImportOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
