package auth_test

import (
	"context"
	"encoding/base32"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/auth"
	"github.com/mamori-dev/mamori/internal/mamoritest"
	"github.com/mamori-dev/mamori/internal/store"
)

// RFC 6238 Appendix B, SHA-1 rows: the key is the ASCII "12345678901234567890".
func TestTOTPRFC6238Vectors(t *testing.T) {
	secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("12345678901234567890"))
	for _, v := range []struct {
		unix int64
		code string
	}{
		{59, "94287082"}, {1111111109, "07081804"}, {1111111111, "14050471"},
		{1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
	} {
		got, err := auth.TOTPCodeForTest(secret, time.Unix(v.unix, 0), 8)
		if err != nil || got != v.code {
			t.Errorf("T=%d: code %s, err %v; want %s", v.unix, got, err, v.code)
		}
	}
}

func TestPasswordHashing(t *testing.T) {
	p := auth.Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	h, err := auth.HashPassword("パスワード-Ｘ1", p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=8192,t=1,p=1$") {
		t.Fatalf("hash %q does not carry its parameters", h)
	}
	// NFKC: the full-width Ｘ typed on a Japanese IME is the same password.
	if ok, rehash := auth.VerifyPassword("パスワード-X1", h, p); !ok || rehash {
		t.Errorf("NFKC-equal password: ok=%v rehash=%v", ok, rehash)
	}
	if ok, _ := auth.VerifyPassword("パスワード-X2", h, p); ok {
		t.Error("wrong password accepted")
	}
	stronger := p
	stronger.Time = 2
	if ok, rehash := auth.VerifyPassword("パスワード-X1", h, stronger); !ok || !rehash {
		t.Errorf("changed parameters: ok=%v rehash=%v, want a re-hash", ok, rehash)
	}
}

func TestPasswordPolicy(t *testing.T) {
	if n := auth.CommonPasswordCount(); n < 10000 {
		t.Fatalf("common password list has %d entries, want at least 10,000", n)
	}
	l1, l3, l4 := auth.Policy(1), auth.Policy(3), auth.Policy(4)
	long := strings.Repeat("Ab1-", 32) // 128 characters
	for _, tc := range []struct {
		name, pw string
		p        auth.PasswordPolicy
		ok       bool
	}{
		{"level 1 two classes", "abcdefg1x", l1, true},
		{"too short", "Ab1-xyz", l1, false},
		{"level 3 needs three classes", "abcdefghijk1", l3, false},
		{"level 3 ok", "quiet-River7x", l3, true},
		{"level 4 needs four classes and 16", "quiet-River7x", l4, false},
		{"level 4 ok", "quiet-River7x-Tokyo", l4, true},
		{"contains the local part", "taro.yamada-X99", l3, false},
		{"common password", "password123", l1, false},
		{"128 characters", long, l4, true},
		{"japanese counts as symbols", "やまもりTokyo2026", l3, true},
	} {
		err := auth.CheckPassword(tc.pw, tc.p, "taro.yamada@example.jp", "taro.yamada@example.jp")
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && mamori.ErrorFields(err)["password"] == "" {
			t.Errorf("%s: error does not name the password field: %v", tc.name, err)
		}
	}
}

func signedIn(t *testing.T, e *mamoritest.Env, u *auth.User) context.Context {
	t.Helper()
	return mamori.WithActor(context.Background(), &mamori.Actor{UserID: u.ID, Roles: u.Roles, Perms: auth.PermsOf(u.Roles), AuthTime: e.Clock.Now()})
}

func TestTOTPCodeNeverAcceptedTwice(t *testing.T) {
	for _, d := range mamoritest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := mamoritest.NewEnv(t, d)
			e.User("mfa@example.jp", true, auth.RoleSecurityManager)
			c := auth.Client{Addr: "192.0.2.10", UserAgent: "test"}
			ctx := context.Background()
			res, err := e.Auth.SignIn(ctx, "mfa@example.jp", mamoritest.Password, c)
			if err != nil || res.MFAToken == "" {
				t.Fatalf("sign-in: %+v %v", res, err)
			}
			code := e.Code()
			if _, err := e.Auth.VerifyMFA(ctx, res.MFAToken, code, c); err != nil {
				t.Fatalf("first use of the code: %v", err)
			}
			res2, err := e.Auth.SignIn(ctx, "mfa@example.jp", mamoritest.Password, c)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.Auth.VerifyMFA(ctx, res2.MFAToken, code, c); err == nil {
				t.Fatal("the same TOTP code was accepted twice")
			}
			// The next time step works, and a code one step old still does (±1).
			e.Clock.Add(30 * time.Second)
			if _, err := e.Auth.VerifyMFA(ctx, res2.MFAToken, e.Code(), c); err != nil {
				t.Fatalf("next step's code: %v", err)
			}
		})
	}
}

// 20 wrong passwords for one account from changing addresses lock the
// account; one wrong password each for 50 accounts from one address locks
// the address. Both show in the sign-in history.
func TestThrottling(t *testing.T) {
	for _, d := range mamoritest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := mamoritest.NewEnv(t, d)
			e.User("victim@example.jp", false, auth.RoleViewer)
			ctx := context.Background()
			var last error
			for i := 0; i < 20; i++ {
				_, last = e.Auth.SignIn(ctx, "victim@example.jp", fmt.Sprintf("wrong-%d", i), auth.Client{Addr: fmt.Sprintf("198.51.100.%d", i+1)})
			}
			if mamori.ErrorCode(last) != mamori.ERATELIMITED {
				t.Fatalf("after 20 failures from 20 addresses: %v, want ERATELIMITED", last)
			}
			// Even the right password is refused while locked, from a new address.
			if _, err := e.Auth.SignIn(ctx, "victim@example.jp", mamoritest.Password, auth.Client{Addr: "203.0.113.99"}); mamori.ErrorCode(err) != mamori.ERATELIMITED {
				t.Fatalf("right password while locked: %v", err)
			}
			admin := e.User("admin@example.jp", true, auth.RoleAdmin)
			actx := signedIn(t, e, admin)
			hist, _, err := e.Auth.SignInHistory(actx, auth.SignInFilter{Login: "victim@", Outcome: auth.OutcomeFailure, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			throttled := 0
			for _, h := range hist {
				if h.Reason == "throttled" {
					throttled++
				}
			}
			if throttled == 0 || len(hist) < 20 {
				t.Errorf("history: %d failures, %d throttled; want all attempts recorded and the lock visible", len(hist), throttled)
			}
			// The lock lifts by itself.
			e.Clock.Add(2 * time.Hour)
			if _, err := e.Auth.SignIn(ctx, "victim@example.jp", mamoritest.Password, auth.Client{Addr: "203.0.113.99"}); err != nil {
				t.Fatalf("after the lock expired: %v", err)
			}

			// Spraying: one wrong password each for 50 accounts from one address.
			for i := 0; i < 50; i++ {
				_, last = e.Auth.SignIn(ctx, fmt.Sprintf("user%02d@example.jp", i), "Summer2026!", auth.Client{Addr: "192.0.2.66"})
			}
			if mamori.ErrorCode(last) != mamori.ERATELIMITED {
				t.Fatalf("after 50 accounts from one address: %v, want ERATELIMITED", last)
			}
			hist, _, err = e.Auth.SignInHistory(actx, auth.SignInFilter{RemoteAddr: "192.0.2.66", Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			throttled = 0
			for _, h := range hist {
				if h.Reason == "throttled" {
					throttled++
				}
			}
			if len(hist) != 50 || throttled == 0 {
				t.Errorf("history of the address: %d records, %d throttled", len(hist), throttled)
			}
			locks, err := e.Auth.LockedKeys(actx)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, l := range locks {
				found = found || l.Key == "addr:192.0.2.66"
			}
			if !found {
				t.Errorf("address lock not listed for administrators: %+v", locks)
			}
			if err := e.Auth.Unlock(actx, "addr:192.0.2.66"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Sign-in, reset and invitation answer identically for existing and unknown
// accounts: the same status and the same body (but for the echoed address).
func TestNoAccountEnumeration(t *testing.T) {
	e := mamoritest.NewEnv(t, store.SQLite)
	e.User("known@example.jp", false, auth.RoleViewer)
	admin := e.User("admin@example.jp", true, auth.RoleAdmin)
	answer := func(path string, form url.Values, b *mamoritest.Browser, getFirst string) (int, string, string) {
		b.Get(getFirst)
		res, body := b.Post(path, form)
		body = strings.ReplaceAll(body, form.Get("email"), "EMAIL")
		return res.StatusCode, res.Header.Get("Location"), body
	}
	for _, tc := range []struct {
		name, path, page string
		form             func(email string) url.Values
		admin            bool
	}{
		{"sign-in", "/sign-in", "/sign-in", func(m string) url.Values { return url.Values{"email": {m}, "password": {"Wrong-pass-123"}} }, false},
		{"reset", "/reset", "/reset", func(m string) url.Values { return url.Values{"email": {m}} }, false},
		{"invitation", "/admin/users", "/admin/users/new", func(m string) url.Values {
			return url.Values{"email": {m}, "roles": {"viewer"}}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b1, b2 := e.NewBrowser(), e.NewBrowser()
			if tc.admin {
				tok1, _ := e.Session(admin)
				tok2, _ := e.Session(admin)
				u, _ := url.Parse(e.URL)
				b1.Client.Jar.SetCookies(u, []*http.Cookie{{Name: mamoritest.SessionCookieName, Value: tok1}})
				b2.Client.Jar.SetCookies(u, []*http.Cookie{{Name: mamoritest.SessionCookieName, Value: tok2}})
			}
			s1, l1, body1 := answer(tc.path, tc.form("known@example.jp"), b1, tc.page)
			s2, l2, body2 := answer(tc.path, tc.form("nobody@example.jp"), b2, tc.page)
			if s1 != s2 || l1 != l2 {
				t.Fatalf("known: %d %q; unknown: %d %q", s1, l1, s2, l2)
			}
			if strings.ReplaceAll(body1, b1.CSRF, "CSRF") != strings.ReplaceAll(body2, b2.CSRF, "CSRF") {
				t.Fatalf("bodies differ:\n%s\n---\n%s", body1, body2)
			}
		})
	}
	if e.Mail.Count("nobody@example.jp") != 1 { // the invitation goes out; the reset does not
		t.Errorf("mail to the unknown address: %d", e.Mail.Count("nobody@example.jp"))
	}
	if e.Mail.Count("known@example.jp") != 2 { // the reset link, and the invitation notice
		t.Errorf("mail to the known address: %d", e.Mail.Count("known@example.jp"))
	}
}

func TestPasswordReset(t *testing.T) {
	for _, d := range mamoritest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := mamoritest.NewEnv(t, d)
			u := e.User("reset@example.jp", true, auth.RoleSecurityManager)
			old, _ := e.Session(u)
			ctx := context.Background()
			c := auth.Client{Addr: "192.0.2.1"}
			if err := e.Auth.RequestPasswordReset(ctx, "reset@example.jp", c); err != nil {
				t.Fatal(err)
			}
			m, ok := e.Mail.Last("reset@example.jp")
			if !ok {
				t.Fatal("no reset mail")
			}
			i := strings.Index(m.Body, "/reset/")
			tok := strings.Fields(m.Body[i+len("/reset/"):])[0]
			// A weak password is refused and the link stays usable.
			if err := e.Auth.ResetPassword(ctx, tok, "reset", "password", c); mamori.ErrorCode(err) != mamori.EINVALID {
				t.Fatalf("weak password: %v", err)
			}
			if err := e.Auth.ResetPassword(ctx, tok, "reset", "New-Strong-Pass-2026", c); err != nil {
				t.Fatal(err)
			}
			// Used: refused.
			if err := e.Auth.ResetPassword(ctx, tok, "reset", "Another-Strong-2026", c); mamori.ErrorCode(err) != mamori.EINVALID {
				t.Fatalf("reused link: %v", err)
			}
			// Old sessions are gone.
			if _, err := e.Auth.Authenticate(ctx, old, c); mamori.ErrorCode(err) != mamori.EUNAUTHENTICATED {
				t.Fatalf("old session after reset: %v", err)
			}
			// MFA is still required.
			res, err := e.Auth.SignIn(ctx, "reset@example.jp", "New-Strong-Pass-2026", c)
			if err != nil || res.Session != nil || res.MFAToken == "" {
				t.Fatalf("sign-in after reset: %+v %v; want the second factor", res, err)
			}
			// The user was told.
			if n := e.Mail.Count("reset@example.jp"); n != 2 {
				t.Errorf("mails to the user: %d, want the link and the notice", n)
			}
			// An expired link is refused.
			if err := e.Auth.RequestPasswordReset(ctx, "reset@example.jp", c); err != nil {
				t.Fatal(err)
			}
			m, _ = e.Mail.Last("reset@example.jp")
			i = strings.Index(m.Body, "/reset/")
			tok = strings.Fields(m.Body[i+len("/reset/"):])[0]
			e.Clock.Add(31 * time.Minute)
			if err := e.Auth.ResetPassword(ctx, tok, "reset", "Third-Strong-2026x", c); mamori.ErrorCode(err) != mamori.EINVALID {
				t.Fatalf("expired link: %v", err)
			}
		})
	}
}

func TestSessionTimeouts(t *testing.T) {
	e := mamoritest.NewEnv(t, store.SQLite)
	u := e.User("s@example.jp", true, auth.RoleAuditor)
	ctx := context.Background()
	c := auth.Client{Addr: "192.0.2.1"}
	tok, _ := e.Session(u)
	e.Clock.Add(29 * time.Minute)
	if _, err := e.Auth.Authenticate(ctx, tok, c); err != nil {
		t.Fatalf("within idle timeout: %v", err)
	}
	e.Clock.Add(31 * time.Minute)
	if _, err := e.Auth.Authenticate(ctx, tok, c); err == nil {
		t.Fatal("session survived 31 idle minutes")
	}
	tok, _ = e.Session(u)
	for i := 0; i < 26; i++ { // 13 hours of activity every 30 minutes
		e.Clock.Add(30 * time.Minute)
		if _, err := e.Auth.Authenticate(ctx, tok, c); err != nil {
			if i < 23 {
				t.Fatalf("active session ended after %d minutes", (i+1)*30)
			}
			return
		}
	}
	t.Fatal("session outlived the absolute timeout of 12 hours")
}

func TestSeparationOfDuties(t *testing.T) {
	for _, d := range mamoritest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := mamoritest.NewEnv(t, d)
			both := e.User("both@example.jp", true, auth.RoleSecurityManager, auth.RoleRiskManager)
			other := e.User("risk@example.jp", true, auth.RoleRiskManager)
			ctx := signedIn(t, e, both)
			ap, err := e.Auth.RequestApproval(ctx, auth.ApprovalRequest{Kind: "vuln.exception", TargetType: "finding", TargetID: "f1",
				Summary: "Keep OpenSSL 1.1 until the vendor patch", Reason: "Compensating WAF rule", RequiredPerm: mamori.PermRiskApprove,
				ExpiresAt: e.Clock.Now().Add(30 * 24 * time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.Auth.DecideApproval(ctx, ap.ID, true, ""); mamori.ErrorCode(err) != mamori.EFORBIDDEN {
				t.Fatalf("requester approved own request: %v", err)
			}
			// The database refuses it too, whatever the service does.
			ap.Status, ap.DecidedBy, ap.DecidedAt = auth.ApprovalApproved, both.ID, e.Clock.Now()
			if err := e.DB.DecideApproval(context.Background(), ap); err == nil {
				t.Fatal("the database accepted a self-approval")
			}
			got, err := e.Auth.DecideApproval(signedIn(t, e, other), ap.ID, true, "ok until the patch")
			if err != nil || got.Status != auth.ApprovalApproved {
				t.Fatalf("approval by another person: %+v %v", got, err)
			}
			e.Clock.Add(31 * 24 * time.Hour)
			expired, err := e.Auth.ExpireApprovals(context.Background())
			if err != nil || len(expired) != 1 || expired[0].ID != ap.ID {
				t.Fatalf("expiry: %v %v", expired, err)
			}
		})
	}
}

func TestAccountLifecycle(t *testing.T) {
	e := mamoritest.NewEnv(t, store.SQLite)
	idle := e.User("idle@example.jp", false, auth.RoleViewer)
	busy := e.User("busy@example.jp", false, auth.RoleViewer)
	ctx := context.Background()
	e.Clock.Add(60 * 24 * time.Hour)
	if _, err := e.Auth.SignIn(ctx, "busy@example.jp", mamoritest.Password, auth.Client{Addr: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	e.Clock.Add(31 * 24 * time.Hour)
	n, err := e.Auth.RunLifecycle(ctx)
	if err != nil || n != 1 {
		t.Fatalf("lifecycle disabled %d, err %v; want 1", n, err)
	}
	for _, c := range []struct {
		u    *auth.User
		want string
	}{{idle, auth.StatusDisabled}, {busy, auth.StatusActive}} {
		u, err := e.DB.UserByID(ctx, c.u.ID)
		if err != nil || u.Status != c.want {
			t.Errorf("%s: %v %v, want %s", c.u.Email, u.Status, err, c.want)
		}
	}
	if _, err := e.Auth.SignIn(ctx, "idle@example.jp", mamoritest.Password, auth.Client{Addr: "192.0.2.1"}); mamori.ErrorCode(err) != mamori.EUNAUTHENTICATED {
		t.Errorf("disabled account signed in: %v", err)
	}
}

func TestAPITokens(t *testing.T) {
	e := mamoritest.NewEnv(t, store.SQLite)
	u := e.User("api@example.jp", true, auth.RoleAdmin)
	read := e.Token(u, "read")
	call := func(method, path, tok string, cookie bool) int {
		req, _ := http.NewRequest(method, e.URL+path, strings.NewReader(`{"approve":true}`))
		req.Header.Set("Content-Type", "application/json")
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		if cookie {
			s, _ := e.Session(u)
			req.Header.Set("Cookie", mamoritest.SessionCookieName+"="+s)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := call("GET", "/api/v1/sign-ins", read, false); got != 200 {
		t.Errorf("read token, read route: %d", got)
	}
	if got := call("GET", "/api/v1/users", read, false); got != 403 {
		t.Errorf("read token, user administration: %d, want 403", got)
	}
	if got := call("GET", "/api/v1/users", "", true); got != 401 {
		t.Errorf("session cookie on the API: %d, want 401 (the API never accepts cookies)", got)
	}
	if got := call("GET", "/api/v1/users", "mamori_forged", false); got != 401 {
		t.Errorf("forged token: %d", got)
	}
	// Creating tokens needs a recent sign-in (step-up) in the service too.
	old := mamori.WithActor(context.Background(), &mamori.Actor{UserID: u.ID, Perms: auth.PermsOf(u.Roles), AuthTime: e.Clock.Now().Add(-time.Hour)})
	if _, _, err := e.Auth.CreateToken(old, "ci", "read", e.Clock.Now().Add(24*time.Hour)); err != auth.ErrStepUpRequired {
		t.Errorf("token creation without step-up: %v", err)
	}
	fresh := signedIn(t, e, u)
	tok, secret, err := e.Auth.CreateToken(fresh, "ci", "write", e.Clock.Now().Add(24*time.Hour))
	if err != nil || !strings.HasPrefix(secret, auth.TokenPrefix) {
		t.Fatal(err)
	}
	if got := call("GET", "/api/v1/me", secret, false); got != 200 {
		t.Errorf("new token: %d", got)
	}
	if err := e.Auth.RevokeToken(fresh, tok.ID); err != nil {
		t.Fatal(err)
	}
	if got := call("GET", "/api/v1/me", secret, false); got != 401 {
		t.Errorf("revoked token: %d", got)
	}
	e.Clock.Add(31 * 24 * time.Hour)
	if got := call("GET", "/api/v1/sign-ins", read, false); got != 401 {
		t.Errorf("expired token: %d", got)
	}
}

func sessionCookie(t *testing.T, e *mamoritest.Env, b *mamoritest.Browser) string {
	t.Helper()
	u, _ := url.Parse(e.URL)
	for _, c := range b.Client.Jar.Cookies(u) {
		if c.Name == mamoritest.SessionCookieName {
			return c.Value
		}
	}
	return ""
}

func TestSessionRotation(t *testing.T) {
	e := mamoritest.NewEnv(t, store.SQLite)
	e.User("rot@example.jp", true, auth.RoleSecurityManager)
	b := e.NewBrowser()
	if res := b.SignIn("rot@example.jp", mamoritest.Password, true); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", res.StatusCode)
	}
	first := sessionCookie(t, e, b)
	// Signing in again while holding a session replaces it.
	e.Clock.Add(31 * time.Second)
	b.Get("/account")
	res, _ := b.Post("/sign-in", url.Values{"email": {"rot@example.jp"}, "password": {mamoritest.Password}})
	if !strings.HasPrefix(res.Header.Get("Location"), "/sign-in/mfa") {
		t.Fatalf("second sign-in: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	b.Post("/sign-in/mfa", url.Values{"code": {e.Code()}})
	second := sessionCookie(t, e, b)
	ctx := context.Background()
	c := auth.Client{Addr: "127.0.0.1"}
	if first == second || second == "" {
		t.Fatalf("session ID did not change at sign-in")
	}
	if _, err := e.Auth.Authenticate(ctx, first, c); err == nil {
		t.Error("the session from before the sign-in still works")
	}
	// A step-up (privilege elevation) rotates it again.
	e.Clock.Add(31 * time.Second)
	b.Get("/account/reauth")
	res, _ = b.Post("/account/reauth", url.Values{"password": {mamoritest.Password}, "code": {e.Code()}, "next": {"/account"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account" {
		t.Fatalf("step-up: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	third := sessionCookie(t, e, b)
	if third == second {
		t.Fatal("session ID did not change at step-up")
	}
	if _, err := e.Auth.Authenticate(ctx, second, c); err == nil {
		t.Error("the session from before the step-up still works")
	}
	if _, err := e.Auth.Authenticate(ctx, third, c); err != nil {
		t.Errorf("the rotated session: %v", err)
	}
}

func TestPrivilegedEventsNotifyAdministrators(t *testing.T) {
	e := mamoritest.NewEnv(t, store.SQLite)
	a1 := e.User("a1@example.jp", true, auth.RoleAdmin)
	a2 := e.User("a2@example.jp", true, auth.RoleAdmin)
	target := e.User("staff@example.jp", true, auth.RoleViewer)
	ctx := signedIn(t, e, a1)
	if err := e.Auth.SetUserRoles(ctx, target.ID, []string{auth.RoleViewer, auth.RoleSecurityManager}); err != nil {
		t.Fatal(err)
	}
	if err := e.Auth.ResetMFA(ctx, target.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.Auth.UpdateSettings(ctx, auth.SecuritySettings{PasswordLevel: 4, MFAForAll: true}); err != nil {
		t.Fatal(err)
	}
	if err := e.Auth.SetUserRoles(ctx, a1.ID, []string{auth.RoleSecurityManager}); mamori.ErrorCode(err) != mamori.EFORBIDDEN {
		t.Errorf("an administrator changed their own roles: %v", err)
	}
	for _, a := range []*auth.User{a1, a2} {
		ns, err := e.Auth.MyNotifications(signedIn(t, e, a), 10)
		if err != nil || len(ns) != 3 {
			t.Errorf("%s: %d notifications, %v; want role change, MFA reset, settings", a.Email, len(ns), err)
		}
		if e.Mail.Count(a.Email) != 3 {
			t.Errorf("%s: %d mails", a.Email, e.Mail.Count(a.Email))
		}
	}
	// An administrator's sign-in is also a privileged event.
	if _, err := e.Auth.SignIn(context.Background(), "a2@example.jp", mamoritest.Password, auth.Client{Addr: "192.0.2.5"}); err != nil {
		t.Fatal(err)
	}
}
