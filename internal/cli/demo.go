package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/auth"
	"github.com/mamori-dev/mamori/internal/control"
)

// seedDemo fills an empty database with a first administrator and one
// account per role, all with one generated password printed once, so a
// newcomer can explore every role. It does nothing on a database that
// already has accounts.
func seedDemo(ctx context.Context, e *env, svc *services) error {
	n, err := svc.auth.CountUsers(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		fmt.Fprintln(e.stderr, "Demo: the database already has accounts; nothing was added.")
		return nil
	}
	ctx = mamori.WithActor(ctx, mamori.SystemActor())
	pw := auth.GeneratePassword()
	people := []auth.UserInput{
		{Email: "admin@demo.mamori.jp", DisplayName: "管理者 (Admin)", Department: "情報システム部", Roles: []string{auth.RoleAdmin, auth.RoleSecurityManager}},
		{Email: "ciso@demo.mamori.jp", DisplayName: "CISO室 佐藤", Department: "CISO室", Roles: []string{auth.RoleSecurityManager}},
		{Email: "owner@demo.mamori.jp", DisplayName: "システム所管 鈴木", Department: "インターネットバンキング部", Roles: []string{auth.RoleSystemOwner}},
		{Email: "risk@demo.mamori.jp", DisplayName: "リスク管理 高橋", Department: "リスク統括部", Roles: []string{auth.RoleRiskManager}},
		{Email: "audit@demo.mamori.jp", DisplayName: "内部監査 田中", Department: "監査部", Roles: []string{auth.RoleAuditor}},
		{Email: "exec@demo.mamori.jp", DisplayName: "役員 伊藤", Department: "経営企画部", Roles: []string{auth.RoleExecutive}},
		{Email: "viewer@demo.mamori.jp", DisplayName: "閲覧者 渡辺", Department: "業務部", Roles: []string{auth.RoleViewer}},
		{Email: "decoy-admin@demo.mamori.jp", DisplayName: "decoy", Decoy: true},
	}
	users := map[string]*auth.User{}
	for _, p := range people {
		u, _, err := svc.auth.CreateWithPassword(ctx, p, pw)
		if err != nil {
			return fmt.Errorf("demo account %s: %w", p.Email, err)
		}
		users[p.Email] = u
	}
	if err := seedDemoAssessment(ctx, svc, users["ciso@demo.mamori.jp"], users["owner@demo.mamori.jp"]); err != nil {
		return fmt.Errorf("demo assessment: %w", err)
	}
	fmt.Fprintf(e.stderr, "\nDemo accounts created (password for all: %s — shown once):\n", pw)
	for _, p := range people[:len(people)-1] {
		fmt.Fprintf(e.stderr, "  %-26s %v\n", p.Email, p.Roles)
	}
	fmt.Fprintln(e.stderr, "Roles that can change data set up two-step verification at their first sign-in.")
	fmt.Fprintln(e.stderr, "decoy-admin@demo.mamori.jp is a decoy account: any attempt to use it is recorded as an attack.")
	fmt.Fprintln(e.stderr, "A sample self-assessment against the FSA guideline is under Assessments.")
	fmt.Fprintln(e.stderr)
	return nil
}

// seedDemoAssessment starts a sample self-assessment of the current fiscal
// year against the FSA guideline, answered in part by the CISO office, with
// evidence, a remediation task and an owner for the KPI/KRI report.
func seedDemoAssessment(ctx context.Context, svc *services, ciso, owner *auth.User) error {
	actx := mamori.WithActor(ctx, &mamori.Actor{UserID: ciso.ID, Email: ciso.Email, Roles: ciso.Roles, Perms: auth.PermsOf(ciso.Roles)})
	today := control.Today(time.Now())
	start := control.FiscalYearOf(today, control.DefaultFiscalYearStart)
	a, err := svc.control.CreateAssessment(actx, control.NewAssessment{
		Title: fmt.Sprintf("%d年度 サイバーセキュリティ自己評価（デモ）", start.Year()), Catalog: "fsa-csgl",
		Profile: control.ProfileBasic, Scope: control.ParseScope("組織全体"), PeriodStart: start, PeriodEnd: start.AddDate(1, 0, -1)})
	if err != nil {
		return err
	}
	answers := []struct {
		node string
		in   control.Answer
	}{
		{"FSA-CSGL-2.1.1-B01", control.Answer{Status: control.ItemImplemented, OwnerID: ciso.ID, Explanation: "取締役会が承認したサイバーセキュリティ基本方針を年1回見直している。"}},
		{"FSA-CSGL-2.1.1-B02", control.Answer{Status: control.ItemPartial, OwnerID: ciso.ID, DueDate: start.AddDate(0, 6, -1), Explanation: "戦略は策定済み。実行計画の年次見直しは未実施。"}},
		{"FSA-CSGL-2.2.1-B01", control.Answer{Status: control.ItemPlanned, OwnerID: owner.ID, TargetDate: start.AddDate(0, 9, -1), Explanation: "システム台帳を mamori に移行中。"}},
		{"FSA-CSGL-2.3.1-B01", control.Answer{Status: control.ItemImplemented, OwnerID: owner.ID, Explanation: "多要素認証をリモートアクセスと管理者アカウントに適用。"}},
	}
	for _, x := range answers {
		if _, err := svc.control.UpdateItem(actx, a.ID, x.node, 0, x.in); err != nil {
			return err
		}
	}
	if _, err := svc.control.AddEvidence(actx, a.ID, "FSA-CSGL-2.1.1-B01", control.EvidenceInput{Kind: control.EvidenceURL,
		Title: "サイバーセキュリティ基本方針（取締役会承認版）", URL: "https://intra.example.jp/policy/cybersecurity", EffectiveOn: start}); err != nil {
		return err
	}
	if _, err := svc.control.CreateTask(actx, a.ID, control.TaskInput{NodeID: "FSA-CSGL-2.1.1-B02", Title: "実行計画の年次見直し",
		OwnerID: ciso.ID, DueDate: start.AddDate(0, 6, -1)}); err != nil {
		return err
	}
	return nil
}
