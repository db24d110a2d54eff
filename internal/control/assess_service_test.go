package control_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/auth"
	"github.com/mamori-dev/mamori/internal/control"
	"github.com/mamori-dev/mamori/internal/mamoritest"
	"github.com/mamori-dev/mamori/internal/store"
)

// as returns a context acting as u.
func as(u *auth.User) context.Context {
	return mamori.WithActor(context.Background(), &mamori.Actor{UserID: u.ID, Email: u.Email, Roles: u.Roles, Perms: auth.PermsOf(u.Roles), AuthTime: time.Now()})
}

type people struct {
	writer, owner, reviewer, approver, both *auth.User
}

func newPeople(e *mamoritest.Env) people {
	return people{
		writer:   e.User("ciso@example.jp", true, auth.RoleSecurityManager),
		owner:    e.User("owner@example.jp", true, auth.RoleSystemOwner),
		reviewer: e.User("risk@example.jp", true, auth.RoleRiskManager),
		approver: e.User("exec@example.jp", true, auth.RoleExecutive),
		both:     e.User("both@example.jp", true, auth.RoleSecurityManager, auth.RoleRiskManager),
	}
}

func forEachEnv(t *testing.T, fn func(t *testing.T, e *mamoritest.Env)) {
	for _, d := range mamoritest.Dialects() {
		t.Run(string(d), func(t *testing.T) { fn(t, mamoritest.NewEnv(t, d)) })
	}
}

func newAssessment(t *testing.T, e *mamoritest.Env, u *auth.User, profile control.Profile) *control.Assessment {
	t.Helper()
	a, err := e.Control.CreateAssessment(as(u), control.NewAssessment{Title: "FY2026 self-assessment", Catalog: "fsa-csgl",
		Profile: profile, Scope: []control.ScopeEntry{{Kind: control.ScopeOrganisation}}, PeriodStart: day("2026-04-01"), PeriodEnd: day("2027-03-31")})
	if err != nil {
		t.Fatalf("create assessment: %v", err)
	}
	return a
}

func answer(t *testing.T, e *mamoritest.Env, u *auth.User, a *control.Assessment, node string, in control.Answer) *control.Item {
	t.Helper()
	it, err := e.Control.UpdateItem(as(u), a.ID, node, 0, in)
	if err != nil {
		t.Fatalf("answer %s: %v", node, err)
	}
	return it
}

func TestCreateAssessmentProfiles(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *mamoritest.Env) {
		p := newPeople(e)
		for _, tc := range []struct {
			profile control.Profile
			inScope int
		}{{control.ProfileBasic, 126}, {control.ProfileBasicDesirable, 176}} {
			a := newAssessment(t, e, p.writer, tc.profile)
			rep, err := e.Control.Report(as(p.reviewer), a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Rows) != 176 {
				t.Errorf("%s: %d rows, want 176", tc.profile, len(rep.Rows))
			}
			// Two desirable items apply only to financial market
			// infrastructures or the like; the count must reflect every
			// "only" condition.
			want := tc.inScope
			for _, r := range rep.Rows {
				if !r.Node.AppliesAlways() && (tc.profile != control.ProfileBasic || r.Node.Tier == control.TierBasic) {
					want--
				}
			}
			if got := rep.Progress.Total.All.InScope; got != want {
				t.Errorf("%s: %d items in scope, want %d", tc.profile, got, want)
			}
			if rep.Progress.Total.All.Answered != 0 || len(rep.Gaps) != want {
				t.Errorf("%s: fresh assessment has %d answered and %d gaps", tc.profile, rep.Progress.Total.All.Answered, len(rep.Gaps))
			}
			if len(rep.Progress.Areas) != 6 {
				t.Errorf("%d areas, want 6", len(rep.Progress.Areas))
			}
		}
		// A viewer reads, cannot create.
		v := e.User("viewer@example.jp", false, auth.RoleViewer)
		_, err := e.Control.CreateAssessment(as(v), control.NewAssessment{Title: "x", Catalog: "fsa-csgl", Profile: control.ProfileBasic,
			Scope: []control.ScopeEntry{{Kind: control.ScopeOrganisation}}, PeriodStart: day("2026-04-01"), PeriodEnd: day("2027-03-31")})
		if mamori.ErrorCode(err) != mamori.EFORBIDDEN {
			t.Errorf("viewer created an assessment: %v", err)
		}
	})
}

func TestAssessmentValidation(t *testing.T) {
	e := mamoritest.NewEnv(t, store.SQLite)
	p := newPeople(e)
	for _, tc := range []struct {
		name  string
		in    control.NewAssessment
		field string
	}{
		{"no title", control.NewAssessment{Catalog: "fsa-csgl", Profile: control.ProfileBasic, Scope: control.ParseScope("organisation"), PeriodStart: day("2026-04-01"), PeriodEnd: day("2027-03-31")}, "title"},
		{"bad profile", control.NewAssessment{Title: "t", Catalog: "fsa-csgl", Profile: "all", Scope: control.ParseScope("organisation"), PeriodStart: day("2026-04-01"), PeriodEnd: day("2027-03-31")}, "profile"},
		{"no scope", control.NewAssessment{Title: "t", Catalog: "fsa-csgl", Profile: control.ProfileBasic, PeriodStart: day("2026-04-01"), PeriodEnd: day("2027-03-31")}, "scope"},
		{"organisation with more", control.NewAssessment{Title: "t", Catalog: "fsa-csgl", Profile: control.ProfileBasic, Scope: control.ParseScope("organisation\nIB"), PeriodStart: day("2026-04-01"), PeriodEnd: day("2027-03-31")}, "scope[0]"},
		{"bad system id", control.NewAssessment{Title: "t", Catalog: "fsa-csgl", Profile: control.ProfileBasic, Scope: control.ParseScope("system:abc"), PeriodStart: day("2026-04-01"), PeriodEnd: day("2027-03-31")}, "scope[0]"},
		{"unknown condition", control.NewAssessment{Title: "t", Catalog: "fsa-csgl", Profile: control.ProfileBasic, Scope: control.ParseScope("IB"), Conditions: []string{"nope"}, PeriodStart: day("2026-04-01"), PeriodEnd: day("2027-03-31")}, "conditions"},
		{"period reversed", control.NewAssessment{Title: "t", Catalog: "fsa-csgl", Profile: control.ProfileBasic, Scope: control.ParseScope("IB"), PeriodStart: day("2027-04-01"), PeriodEnd: day("2027-03-31")}, "period_end"},
		{"unknown catalog", control.NewAssessment{Title: "t", Catalog: "nope", Profile: control.ProfileBasic, Scope: control.ParseScope("IB"), PeriodStart: day("2026-04-01"), PeriodEnd: day("2027-03-31")}, "catalog"},
	} {
		_, err := e.Control.CreateAssessment(as(p.writer), tc.in)
		if mamori.ErrorCode(err) != mamori.EINVALID {
			t.Errorf("%s: err %v, want invalid", tc.name, err)
			continue
		}
		if _, ok := mamori.ErrorFields(err)[tc.field]; !ok {
			t.Errorf("%s: fields %v lack %q", tc.name, mamori.ErrorFields(err), tc.field)
		}
	}
	a := newAssessment(t, e, p.writer, control.ProfileBasic)
	for _, tc := range []struct {
		name  string
		in    control.Answer
		field string
	}{
		{"planned without date", control.Answer{Status: control.ItemPlanned}, "target_date"},
		{"n/a without rationale", control.Answer{Status: control.ItemNotApplicable}, "rationale"},
		{"accepted directly", control.Answer{Status: control.ItemRiskAccepted}, "status"},
		{"unknown status", control.Answer{Status: "done"}, "status"},
		{"unknown owner", control.Answer{Status: control.ItemImplemented, OwnerID: mamori.NewID()}, "owner"},
		{"target date on implemented", control.Answer{Status: control.ItemImplemented, TargetDate: day("2026-09-30")}, "target_date"},
	} {
		_, err := e.Control.UpdateItem(as(p.writer), a.ID, "FSA-CSGL-2.2.3-B03", 0, tc.in)
		if _, ok := mamori.ErrorFields(err)[tc.field]; !ok {
			t.Errorf("%s: err %v, want a problem with %s", tc.name, err, tc.field)
		}
	}
	// A stale version is refused.
	it := answer(t, e, p.writer, a, "FSA-CSGL-2.2.3-B03", control.Answer{Status: control.ItemImplemented})
	if _, err := e.Control.UpdateItem(as(p.writer), a.ID, "FSA-CSGL-2.2.3-B03", it.Version-1, control.Answer{Status: control.ItemPartial}); mamori.ErrorCode(err) != mamori.ECONFLICT {
		t.Errorf("stale update: %v", err)
	}
}

// TestRiskAcceptanceSeparationOfDuties: a risk acceptance cannot be
// approved by its requester, counts as a gap until someone else approves
// it, and an expired acceptance returns the item to open.
func TestRiskAcceptanceSeparationOfDuties(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *mamoritest.Env) {
		p := newPeople(e)
		a := newAssessment(t, e, p.writer, control.ProfileBasic)
		node := "FSA-CSGL-2.2.3-B03"
		until := day("2026-09-30")
		it, err := e.Control.RequestRiskAcceptance(as(p.both), a.ID, node, 0, "Legacy host retires in September; compensating network isolation.", until)
		if err != nil {
			t.Fatal(err)
		}
		if it.Status != control.ItemRiskAccepted || !it.AcceptApproval.Awaiting() {
			t.Fatalf("item after request: %+v", it)
		}
		if st := standing(t, e, p.writer, a, node); st.Status != control.ItemAcceptancePending || !st.Gap || !st.Awaiting {
			t.Errorf("pending acceptance stands as %+v", st)
		}
		// The requester holds risk.approve but cannot approve their own request.
		if _, err := e.Auth.DecideApproval(as(p.both), it.AcceptApproval.ID, true, "ok"); mamori.ErrorCode(err) != mamori.EFORBIDDEN {
			t.Fatalf("self-approval: %v", err)
		}
		if _, err := e.Auth.DecideApproval(as(p.approver), it.AcceptApproval.ID, true, "Accepted until the host retires."); err != nil {
			t.Fatal(err)
		}
		if st := standing(t, e, p.writer, a, node); st.Status != control.ItemRiskAccepted || !st.Met || st.Awaiting {
			t.Errorf("approved acceptance stands as %+v", st)
		}
		// The approval lapses at the end of 2026-09-30, Japanese time.
		e.Clock.Add(time.Date(2026, 9, 30, 14, 59, 0, 0, time.UTC).Sub(e.Clock.Now())) // 2026-09-30 23:59 JST
		if exp, err := e.Auth.ExpireApprovals(context.Background()); err != nil || len(exp) != 0 {
			t.Fatalf("expired early: %v %v", exp, err)
		}
		e.Clock.Add(2 * time.Minute)
		if st := standing(t, e, p.writer, a, node); st.Status != control.ItemAcceptancePending || !st.Gap {
			t.Errorf("lapsed acceptance before the job ran stands as %+v", st)
		}
		exp, err := e.Auth.ExpireApprovals(context.Background())
		if err != nil || len(exp) != 1 {
			t.Fatalf("expire: %v %v", exp, err)
		}
		// The job passes the expired approvals; here it is as if the server
		// stopped between the two steps, and the sweep must still find it.
		n, err := e.Control.ApprovalsExpired(context.Background(), nil)
		if err != nil || n != 1 {
			t.Fatalf("reopened %d: %v", n, err)
		}
		if n, _ := e.Control.ApprovalsExpired(context.Background(), exp); n != 0 {
			t.Errorf("reopened again: %d", n)
		}
		it, err = e.DB.Item(context.Background(), a.ID, node)
		if err != nil {
			t.Fatal(err)
		}
		if it.Status != control.ItemOpen || it.AcceptApproval.ID != "" || it.AcceptReason != "" {
			t.Errorf("after expiry the item is %+v", it)
		}
		v, err := e.Control.ItemView(as(p.reviewer), a.ID, node)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, ev := range v.History {
			types = append(types, string(ev.Type))
		}
		want := []audit.Type{audit.ItemReopened, audit.ApprovalExpired, audit.ApprovalApproved, audit.ItemUpdated, audit.ApprovalRequested}
		if strings.Join(types, " ") != joinTypes(want) {
			t.Errorf("history %v, want %v", types, want)
		}
		// The owner (here: the requester) was told.
		ns, err := e.DB.Notifications(context.Background(), p.both.ID, 10)
		if err != nil || len(ns) == 0 || ns[0].Kind != control.NoticeApprovalLapsed {
			t.Errorf("notifications: %+v %v", ns, err)
		}
	})
}

func joinTypes(ts []audit.Type) string {
	var s []string
	for _, t := range ts {
		s = append(s, string(t))
	}
	return strings.Join(s, " ")
}

func standing(t *testing.T, e *mamoritest.Env, u *auth.User, a *control.Assessment, node string) control.Standing {
	t.Helper()
	rep, err := e.Control.Report(as(u), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Rows {
		if r.Node.ID == node {
			return r.Standing
		}
	}
	t.Fatalf("no row %s", node)
	return control.Standing{}
}

func TestExclusionNeedsCustomProfileAndApproval(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *mamoritest.Env) {
		p := newPeople(e)
		basic := newAssessment(t, e, p.writer, control.ProfileBasic)
		if _, err := e.Control.RequestExclusion(as(p.writer), basic.ID, "FSA-CSGL-2.2.3-B03", 0, "n/a", day("2026-12-31")); mamori.ErrorCode(err) != mamori.ECONFLICT {
			t.Errorf("exclusion in a basic profile: %v", err)
		}
		a := newAssessment(t, e, p.writer, control.ProfileCustom)
		node := "FSA-CSGL-2.4-B01"
		for _, tc := range []struct {
			reason string
			until  time.Time
			field  string
		}{
			{"", day("2026-12-31"), "exclude_reason"},
			{"r", time.Time{}, "exclude_until"},
			{"r", day("2026-03-31"), "exclude_until"},
			{"r", day("2030-01-01"), "exclude_until"},
		} {
			_, err := e.Control.RequestExclusion(as(p.writer), a.ID, node, 0, tc.reason, tc.until)
			if _, ok := mamori.ErrorFields(err)[tc.field]; !ok {
				t.Errorf("exclusion %q until %v: %v", tc.reason, tc.until, err)
			}
		}
		it, err := e.Control.RequestExclusion(as(p.writer), a.ID, node, 0, "We run no systems in scope of this item.", day("2027-03-31"))
		if err != nil {
			t.Fatal(err)
		}
		if st := standing(t, e, p.writer, a, node); !st.InScope || !st.Awaiting {
			t.Errorf("pending exclusion stands as %+v", st)
		}
		if _, err := e.Auth.DecideApproval(as(p.reviewer), it.ExcludeApproval.ID, true, ""); err != nil {
			t.Fatal(err)
		}
		if st := standing(t, e, p.writer, a, node); st.InScope || st.OutReason != control.OutExcluded {
			t.Errorf("approved exclusion stands as %+v", st)
		}
		// When the exclusion expires, the item is back in scope.
		e.Clock.Add(400 * 24 * time.Hour)
		exp, err := e.Auth.ExpireApprovals(context.Background())
		if err != nil || len(exp) != 1 {
			t.Fatalf("expire: %v %v", exp, err)
		}
		if n, err := e.Control.ApprovalsExpired(context.Background(), exp); err != nil || n != 1 {
			t.Fatalf("reopened %d: %v", n, err)
		}
		if st := standing(t, e, p.writer, a, node); !st.InScope {
			t.Errorf("lapsed exclusion stands as %+v", st)
		}
		// Cancelling a pending one brings it back at once.
		other := "FSA-CSGL-2.4-B02"
		if _, err := e.Control.RequestExclusion(as(p.writer), a.ID, other, 0, "Not used.", day("2028-03-31")); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Control.CancelExclusion(as(p.writer), a.ID, other, 0); err != nil {
			t.Fatal(err)
		}
		if it, _ := e.DB.Item(context.Background(), a.ID, other); it.Excluded {
			t.Errorf("cancelled exclusion: %+v", it)
		}
		if aps, _ := e.Auth.Approvals(as(p.writer), auth.ApprovalFilter{Status: auth.ApprovalWithdrawn}); len(aps) != 1 {
			t.Errorf("the cancelled request was not withdrawn: %d", len(aps))
		}
	})
}

// answerAll answers every in-scope item as implemented.
func answerAll(t *testing.T, e *mamoritest.Env, u *auth.User, a *control.Assessment) {
	t.Helper()
	rep, err := e.Control.Report(as(u), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Rows {
		if r.Standing.InScope && !r.Standing.Answered {
			answer(t, e, u, a, r.Node.ID, control.Answer{Status: control.ItemImplemented, Explanation: "Done."})
		}
	}
}

func TestSubmitReviewSignOff(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *mamoritest.Env) {
		p := newPeople(e)
		a := newAssessment(t, e, p.writer, control.ProfileBasic)
		_, err := e.Control.Submit(as(p.writer), a.ID)
		if mamori.ErrorCode(err) != mamori.EINVALID || !strings.Contains(mamori.ErrorMessage(err), "still open") || len(mamori.ErrorFields(err)) != 20 {
			t.Fatalf("submit with open items: %v", err)
		}
		answerAll(t, e, p.writer, a)
		if _, err := e.Control.Submit(as(p.writer), a.ID); err != nil {
			t.Fatal(err)
		}
		// The answerer cannot review their own answer (checked in the
		// service, and by the database).
		node := "FSA-CSGL-2.1.1-B01"
		if _, err := e.Control.ReviewItem(as(p.both), a.ID, node, 0, true, ""); err != nil {
			t.Fatalf("review by another person who holds both roles: %v", err)
		}
		answer(t, e, p.both, a, node, control.Answer{Status: control.ItemImplemented, Explanation: "Reworded."})
		if _, err := e.Control.ReviewItem(as(p.both), a.ID, node, 0, true, ""); mamori.ErrorCode(err) != mamori.EFORBIDDEN {
			t.Fatalf("self-review: %v", err)
		}
		if _, err := e.Control.ReviewItem(as(p.reviewer), a.ID, node, 0, false, ""); mamori.ErrorFields(err)["review_note"] == "" {
			t.Errorf("challenge without a note: %v", err)
		}
		// Sign-off needs every item agreed.
		if _, err := e.Control.SignOff(as(p.reviewer), a.ID, ""); mamori.ErrorCode(err) != mamori.EINVALID {
			t.Fatalf("sign-off before review: %v", err)
		}
		rep, _ := e.Control.Report(as(p.reviewer), a.ID)
		for _, r := range rep.Rows {
			if r.Standing.InScope && r.Item.Review != control.ReviewAgreed {
				if _, err := e.Control.ReviewItem(as(p.reviewer), a.ID, r.Node.ID, r.Item.Version, true, ""); err != nil {
					t.Fatalf("review %s: %v", r.Node.ID, err)
				}
			}
		}
		// The submitter cannot sign off.
		if _, err := e.Control.SignOff(as(p.writer), a.ID, ""); mamori.ErrorCode(err) != mamori.EFORBIDDEN {
			t.Fatalf("sign-off by the submitter (who lacks the permission): %v", err)
		}
		signed, err := e.Control.SignOff(as(p.reviewer), a.ID, "Agreed for FY2026.")
		if err != nil {
			t.Fatal(err)
		}
		if signed.State != control.StateSignedOff || signed.SignedOffBy != p.reviewer.ID {
			t.Fatalf("after sign-off: %+v", signed)
		}
		// Signed off is locked.
		if _, err := e.Control.UpdateItem(as(p.writer), a.ID, node, 0, control.Answer{Status: control.ItemPartial}); mamori.ErrorCode(err) != mamori.ECONFLICT {
			t.Errorf("changed a signed-off item: %v", err)
		}
		if _, err := e.Control.AddEvidence(as(p.writer), a.ID, node, control.EvidenceInput{Kind: control.EvidenceURL, Title: "x", URL: "https://intra.example.jp/x", EffectiveOn: day("2026-04-01")}); mamori.ErrorCode(err) != mamori.ECONFLICT {
			t.Errorf("added evidence to a signed-off item: %v", err)
		}
		// Tasks go on after sign-off.
		if _, err := e.Control.CreateTask(as(p.writer), a.ID, control.TaskInput{Title: "Follow-up", NodeID: node}); err != nil {
			t.Errorf("task after sign-off: %v", err)
		}
		if _, err := e.Control.Reopen(as(p.reviewer), a.ID, ""); mamori.ErrorFields(err)["note"] == "" {
			t.Errorf("reopen without a reason: %v", err)
		}
		if a, err = e.Control.Reopen(as(p.reviewer), a.ID, "Audit finding on 2.1.1."); err != nil || a.State != control.StateOpen {
			t.Fatalf("reopen: %v %+v", err, a)
		}
		h, err := e.Control.AssessmentHistory(as(p.reviewer), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		var types []audit.Type
		for _, ev := range h {
			types = append(types, ev.Type)
		}
		want := []audit.Type{audit.AssessmentReopened, audit.AssessmentSignedOff, audit.AssessmentSubmitted, audit.AssessmentCreated}
		if joinTypes(types) != joinTypes(want) {
			t.Errorf("assessment history %v, want %v", types, want)
		}
	})
}

func TestSignOffFailsAfterConcurrentChange(t *testing.T) {
	e := mamoritest.NewEnv(t, store.SQLite)
	p := newPeople(e)
	a := newAssessment(t, e, p.writer, control.ProfileBasic)
	answerAll(t, e, p.writer, a)
	if _, err := e.Control.Submit(as(p.writer), a.ID); err != nil {
		t.Fatal(err)
	}
	cur, _ := e.Control.Assessment(as(p.reviewer), a.ID)
	// An edit lands between the reviewer's look and the sign-off.
	answer(t, e, p.writer, a, "FSA-CSGL-2.1.1-B01", control.Answer{Status: control.ItemPartial})
	cur.State, cur.SignedOffBy = control.StateSignedOff, p.reviewer.ID
	if err := e.DB.SetAssessmentState(context.Background(), cur, cur.Revision); mamori.ErrorCode(err) != mamori.ECONFLICT {
		t.Errorf("sign-off over a newer revision: %v", err)
	}
}

func TestEvidenceAndCopyForward(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *mamoritest.Env) {
		p := newPeople(e)
		a := newAssessment(t, e, p.writer, control.ProfileBasic)
		node := "FSA-CSGL-2.1.1-B01"
		answer(t, e, p.writer, a, node, control.Answer{Status: control.ItemImplemented, OwnerID: p.owner.ID, Explanation: "Policy approved by the board."})
		ctx := as(p.writer)
		if _, err := e.Control.AddEvidence(ctx, a.ID, node, control.EvidenceInput{Kind: control.EvidenceURL, Title: "Policy", URL: "javascript:alert(1)", EffectiveOn: day("2026-04-01")}); mamori.ErrorFields(err)["url"] == "" {
			t.Errorf("javascript URL: %v", err)
		}
		if _, err := e.Control.AddEvidence(ctx, a.ID, node, control.EvidenceInput{Kind: control.EvidenceURL, Title: "Policy", URL: "https://intra.example.jp/policy", EffectiveOn: day("2026-04-01"), ExpiresOn: day("2026-03-01")}); mamori.ErrorFields(err)["expires_on"] == "" {
			t.Errorf("expiry before effect: %v", err)
		}
		url, err := e.Control.AddEvidence(ctx, a.ID, node, control.EvidenceInput{Kind: control.EvidenceURL, Title: "Policy", URL: "https://intra.example.jp/policy", EffectiveOn: day("2026-04-01"), ExpiresOn: day("2027-06-30")})
		if err != nil {
			t.Fatal(err)
		}
		rec, err := e.Control.AddEvidence(ctx, a.ID, node, control.EvidenceInput{Kind: control.EvidenceRecord, Title: "Board minutes", RecordType: "report", RecordID: mamori.NewID(), EffectiveOn: day("2026-03-15"), ExpiresOn: day("2026-05-01")})
		if err != nil {
			t.Fatal(err)
		}
		f, err := e.Control.AddEvidenceFile(ctx, a.ID, node, strings.NewReader("サイバーセキュリティ基本方針"), `C:\docs\方針.pdf`, "application/pdf; x=y", control.EvidenceInput{EffectiveOn: day("2026-04-01")})
		if err != nil {
			t.Fatal(err)
		}
		if f.File == nil || f.File.Name != "方針.pdf" || f.File.MediaType != "application/pdf" || f.Title != "方針.pdf" || len(f.File.SHA256) != 64 {
			t.Errorf("file evidence: %+v %+v", f, f.File)
		}
		_, rc, err := e.Control.EvidenceFile(as(p.reviewer), a.ID, f.ID)
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
		// Copy forward a year later.
		e.Clock.Add(365 * 24 * time.Hour)
		for _, renew := range []bool{false, true} {
			b, err := e.Control.CreateAssessment(ctx, control.NewAssessment{Title: "FY2027", Catalog: "fsa-csgl", Profile: control.ProfileBasic,
				Scope: control.ParseScope("organisation"), PeriodStart: day("2027-04-01"), PeriodEnd: day("2028-03-31"), From: a.ID, RenewEvidence: renew})
			if err != nil {
				t.Fatal(err)
			}
			if b.PreviousID != a.ID {
				t.Errorf("previous ID %q", b.PreviousID)
			}
			snap, err := e.Control.Snapshot(ctx, b.ID)
			if err != nil {
				t.Fatal(err)
			}
			it := snap.Item(node)
			if it.Status != control.ItemImplemented || it.OwnerID != p.owner.ID || it.Explanation != "Policy approved by the board." || it.Review != "" {
				t.Errorf("copied item: %+v", it)
			}
			if len(snap.Evidence) != 3 {
				t.Fatalf("copied %d evidence, want 3", len(snap.Evidence))
			}
			for _, ev := range snap.Evidence {
				if ev.ItemID != it.ID || ev.CopiedFrom == "" {
					t.Errorf("copied evidence %+v", ev)
				}
				expired := ev.CopiedFrom == rec.ID // expired 2026-05-01, before the new period
				switch {
				case !renew || expired:
					if !ev.NeedsRenewal {
						t.Errorf("renew=%v: evidence %s not flagged", renew, ev.Title)
					}
				default:
					if ev.NeedsRenewal || !ev.EffectiveOn.Equal(day("2027-04-01")) {
						t.Errorf("renew=%v: evidence %s not re-dated: %+v", renew, ev.Title, ev)
					}
				}
				if ev.CopiedFrom == url.ID && !ev.ExpiresOn.Equal(day("2027-06-30")) {
					t.Errorf("expiry changed: %v", ev.ExpiresOn)
				}
			}
			// Renewing clears the flag.
			for _, ev := range snap.Evidence {
				if ev.NeedsRenewal {
					got, err := e.Control.RenewEvidence(ctx, b.ID, ev.ID, day("2027-04-02"), day("2028-04-01"))
					if err != nil || got.NeedsRenewal {
						t.Errorf("renew: %+v %v", got, err)
					}
				}
			}
		}
		// Removing evidence resets the item's review.
		if _, err := e.Control.ReviewItem(as(p.reviewer), a.ID, node, 0, true, ""); err != nil {
			t.Fatal(err)
		}
		if err := e.Control.RemoveEvidence(ctx, a.ID, url.ID); err != nil {
			t.Fatal(err)
		}
		it, _ := e.DB.Item(context.Background(), a.ID, node)
		if it.Review != "" {
			t.Errorf("review kept after evidence removal: %+v", it)
		}
	})
}

func TestGapsOrderAndProgress(t *testing.T) {
	e := mamoritest.NewEnv(t, store.SQLite)
	p := newPeople(e)
	a := newAssessment(t, e, p.writer, control.ProfileBasicDesirable)
	// Answer everything as implemented, then open a few gaps.
	answerAll(t, e, p.writer, a)
	answer(t, e, p.writer, a, "FSA-CSGL-2.1.1-Da", control.Answer{Status: control.ItemNotImplemented, DueDate: day("2026-05-01"), OwnerID: p.owner.ID})
	answer(t, e, p.writer, a, "FSA-CSGL-2.2.3-B03", control.Answer{Status: control.ItemPlanned, TargetDate: day("2026-12-31"), OwnerID: p.owner.ID})
	answer(t, e, p.writer, a, "FSA-CSGL-2.1.1-B02", control.Answer{Status: control.ItemPartial, DueDate: day("2026-06-30"), OwnerID: p.writer.ID})
	answer(t, e, p.writer, a, "FSA-CSGL-2.1.1-B03", control.Answer{Status: control.ItemPartial, DueDate: day("2026-06-30"), OwnerID: p.owner.ID})
	answer(t, e, p.writer, a, "FSA-CSGL-2.1.1-B04", control.Answer{Status: control.ItemNotImplemented})
	answer(t, e, p.writer, a, "FSA-CSGL-2.1.2-B01", control.Answer{Status: control.ItemNotApplicable, Rationale: "No such function."})
	e.Clock.Add(60 * 24 * time.Hour) // 2026-05-31: the 2026-05-01 deadline has passed
	rep, err := e.Control.Report(as(p.reviewer), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range rep.Gaps {
		got = append(got, g.Node.ID)
	}
	// Basic first; then by due date (2.1.1-B02 and -B03 share one and are
	// ordered by owner: the names are the addresses, "ciso@" before
	// "owner@"), undated last; desirable after.
	want := []string{"FSA-CSGL-2.1.1-B02", "FSA-CSGL-2.1.1-B03", "FSA-CSGL-2.2.3-B03", "FSA-CSGL-2.1.1-B04", "FSA-CSGL-2.1.1-Da"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("gaps %v\nwant %v", got, want)
	}
	if !rep.Gaps[4].Standing.Overdue || rep.Gaps[0].Standing.Overdue {
		t.Errorf("overdue flags: %+v / %+v", rep.Gaps[4].Standing, rep.Gaps[0].Standing)
	}
	area := rep.Progress.Areas[0] // 2.1
	if area.Ref != "2.1" || area.All.InScope != 26 || area.All.Gaps != 4 || area.All.Met != 22 {
		t.Errorf("area 2.1: %+v", area.All)
	}
	if area.Tiers[0].Tier != control.TierBasic || area.Tiers[0].Gaps != 3 || area.Tiers[1].Gaps != 1 {
		t.Errorf("area 2.1 tiers: %+v", area.Tiers)
	}
	if pct := area.Tiers[0].MetPercent(); pct != 84.2 { // 16 of 19
		t.Errorf("2.1 basic met %.1f%%, want 84.2", pct)
	}
	if len(area.Sections) == 0 || area.Sections[0].Ref != "2.1.1" {
		t.Errorf("sections of 2.1: %+v", area.Sections)
	}
	if rep.Progress.Total.All.ByStatus[control.ItemNotApplicable] != 1 {
		t.Errorf("by status: %v", rep.Progress.Total.All.ByStatus)
	}
}

func TestTasks(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *mamoritest.Env) {
		p := newPeople(e)
		a := newAssessment(t, e, p.writer, control.ProfileBasic)
		ctx := as(p.writer)
		if _, err := e.Control.CreateTask(ctx, a.ID, control.TaskInput{}); mamori.ErrorFields(err)["title"] == "" {
			t.Errorf("task without title: %v", err)
		}
		if _, err := e.Control.CreateTask(ctx, a.ID, control.TaskInput{Title: "x", NodeID: "FSA-CSGL-9"}); mamori.ErrorFields(err)["item"] == "" {
			t.Errorf("task on unknown item: %v", err)
		}
		tk, err := e.Control.CreateTask(ctx, a.ID, control.TaskInput{Title: "Replace legacy VPN", NodeID: "FSA-CSGL-2.2.3-B03", OwnerID: p.owner.ID, DueDate: day("2026-06-30")})
		if err != nil {
			t.Fatal(err)
		}
		if tk.NodeID != "FSA-CSGL-2.2.3-B03" {
			t.Errorf("task node %q", tk.NodeID)
		}
		tk, err = e.Control.UpdateTask(ctx, a.ID, tk.ID, tk.Version, control.TaskInput{Title: "Replace legacy VPN", NodeID: "FSA-CSGL-2.2.3-B03", OwnerID: p.writer.ID, DueDate: day("2026-05-31")})
		if err != nil || tk.OwnerID != p.writer.ID {
			t.Fatalf("reassign: %v %+v", err, tk)
		}
		e.Clock.Add(70 * 24 * time.Hour)
		d, err := e.Control.Dashboard(ctx)
		if err != nil || d.MyOverdue != 1 || len(d.MyTasks) != 1 {
			t.Fatalf("dashboard: %+v %v", d, err)
		}
		n, err := e.Control.RunReminders(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n2, _ := e.Control.RunReminders(context.Background()); n2 != 0 {
			t.Errorf("second reminder run sent %d", n2)
		}
		if n < 1 {
			t.Errorf("reminders sent: %d", n)
		}
		if _, err := e.Control.CompleteTask(ctx, a.ID, tk.ID, 0, "Replaced on 2026-06-05."); err != nil {
			t.Fatal(err)
		}
		h, _ := e.Control.TaskHistory(ctx, a.ID, tk.ID)
		if len(h) != 4 || h[0].Type != audit.TaskCompleted || h[3].Type != audit.TaskCreated {
			t.Errorf("task history: %+v", h)
		}
	})
}

func TestCalendarAndReminders(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *mamoritest.Env) {
		p := newPeople(e)
		ctx := as(p.writer)
		cal, err := e.Control.Calendar(ctx, "fsa-csgl")
		if err != nil {
			t.Fatal(err)
		}
		if cal.FiscalYearStart != "04-01" || !cal.PeriodStart.Equal(day("2026-04-01")) || len(cal.Entries) == 0 {
			t.Fatalf("calendar: %+v", cal)
		}
		// Yearly duties are due on the last day of the fiscal year; the
		// twice-yearly KPI/KRI report on 2026-09-30 first.
		var kpi *control.CalendarEntry
		for i, en := range cal.Entries {
			if en.Every == control.HalfYearly {
				kpi = &cal.Entries[i]
				break
			}
		}
		if kpi == nil || !kpi.Due.Due.Equal(day("2026-09-30")) {
			t.Fatalf("half-yearly entry: %+v", kpi)
		}
		if err := e.Control.SetObligation(ctx, "fsa-csgl", kpi.ItemID, "P1Y", ""); mamori.ErrorFields(err)["every"] == "" {
			t.Errorf("loosened interval: %v", err)
		}
		if err := e.Control.SetObligation(ctx, "fsa-csgl", kpi.ItemID, "P3M", p.owner.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.Control.SetObligation(ctx, "fsa-csgl", "FSA-CSGL-2.2.3-B03", "", ""); mamori.ErrorCode(err) != mamori.ENOTFOUND {
			t.Errorf("obligation on an item without frequency: %v", err)
		}
		if err := e.Control.RecordObligationDone(ctx, "fsa-csgl", kpi.ItemID, day("2026-04-30"), ""); mamori.ErrorFields(err)["done_on"] == "" {
			t.Errorf("future completion: %v", err)
		}
		if err := e.Control.RecordObligationDone(ctx, "fsa-csgl", kpi.ItemID, day("2026-03-20"), "Reported to the board."); err != nil {
			t.Fatal(err)
		}
		cal, _ = e.Control.Calendar(ctx, "fsa-csgl")
		for _, en := range cal.Entries {
			if en.ItemID == kpi.ItemID && (!en.Due.Due.Equal(day("2026-06-20")) || en.Owner.ID != p.owner.ID) {
				t.Errorf("after completion: %+v", en)
			}
		}
		// Fiscal year setting: only catalog managers, validated.
		if err := e.Control.SetFiscalYearStart(as(p.owner), "01-01"); mamori.ErrorCode(err) != mamori.EFORBIDDEN {
			t.Errorf("system owner changed the fiscal year: %v", err)
		}
		if err := e.Control.SetFiscalYearStart(ctx, "02-30"); mamori.ErrorCode(err) != mamori.EINVALID {
			t.Errorf("bad fiscal year start: %v", err)
		}
		if err := e.Control.SetFiscalYearStart(ctx, "01-01"); err != nil {
			t.Fatal(err)
		}
		if cal, _ = e.Control.Calendar(ctx, "fsa-csgl"); !cal.PeriodStart.Equal(day("2026-01-01")) {
			t.Errorf("period start %v", cal.PeriodStart)
		}
		// Due within 30 days on 2026-05-25: the reminder goes out once.
		e.Clock.Add(54 * 24 * time.Hour)
		n, err := e.Control.RunReminders(context.Background())
		if err != nil || n != 1 {
			t.Fatalf("reminders: %d %v", n, err)
		}
		if n, _ := e.Control.RunReminders(context.Background()); n != 0 {
			t.Errorf("repeated reminder: %d", n)
		}
		ns, _ := e.DB.Notifications(context.Background(), p.owner.ID, 5)
		if len(ns) != 1 || ns[0].Kind != control.NoticeObligationDue {
			t.Errorf("owner's notifications: %+v", ns)
		}
		d, err := e.Control.Dashboard(ctx)
		if err != nil || d.DueSoonCount < 1 {
			t.Errorf("dashboard: %+v %v", d, err)
		}
	})
}
