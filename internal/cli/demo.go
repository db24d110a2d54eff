package cli

import (
	"context"
	"fmt"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/auth"
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
	for _, p := range people {
		if _, _, err := svc.auth.CreateWithPassword(ctx, p, pw); err != nil {
			return fmt.Errorf("demo account %s: %w", p.Email, err)
		}
	}
	fmt.Fprintf(e.stderr, "\nDemo accounts created (password for all: %s — shown once):\n", pw)
	for _, p := range people[:len(people)-1] {
		fmt.Fprintf(e.stderr, "  %-26s %v\n", p.Email, p.Roles)
	}
	fmt.Fprintln(e.stderr, "Roles that can change data set up two-step verification at their first sign-in.")
	fmt.Fprintln(e.stderr, "decoy-admin@demo.mamori.jp is a decoy account: any attempt to use it is recorded as an attack.")
	fmt.Fprintln(e.stderr)
	return nil
}
