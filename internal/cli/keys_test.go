package cli

import (
	"context"
	"encoding/base64"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/auth"
	"github.com/mamori-dev/mamori/internal/envelope"
	"github.com/mamori-dev/mamori/internal/files"
	"github.com/mamori-dev/mamori/internal/mamoritest"
	"github.com/mamori-dev/mamori/internal/store"
)

// signedIn reports whether a sign-in with password and TOTP code ended in
// a session (a redirect away from the sign-in pages).
func signedIn(res *http.Response) bool {
	loc := res.Header.Get("Location")
	return res.StatusCode == http.StatusSeeOther && !strings.HasPrefix(loc, "/sign-in")
}

func TestKeysRotateWhileServing(t *testing.T) {
	for _, d := range mamoritest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := mamoritest.NewEnv(t, d)
			users := []*auth.User{
				e.User("a@example.jp", true, "security_manager"),
				e.User("b@example.jp", true, "security_manager"),
				e.User("c@example.jp", true, "security_manager"),
			}
			// A TOTP enrolment in progress is sealed too.
			sealed, err := e.Sealer.Seal([]byte(mamoritest.TOTPSecret), "pending_logins", "data", users[2].ID)
			if err != nil {
				t.Fatal(err)
			}
			now := e.Clock.Now()
			if err := e.DB.CreatePending(context.Background(), &auth.Pending{IDHash: "enrol-1", UserID: users[2].ID, Purpose: auth.PendingTOTPEnrol,
				Data: base64.StdEncoding.EncodeToString(sealed), CreatedAt: now, ExpiresAt: now.Add(15 * time.Minute)}); err != nil {
				t.Fatal(err)
			}
			// And an evidence file, whose own key is sealed.
			fs := files.New(filepath.Join(e.Config.DataDir, files.Dir), e.DB, e.Sealer, 1<<20)
			sys := mamori.WithActor(context.Background(), mamori.SystemActor())
			ref, err := fs.Put(sys, strings.NewReader("evidence"), "evidence.txt", "text/plain")
			if err != nil {
				t.Fatal(err)
			}
			if !signedIn(e.NewBrowser().SignIn("a@example.jp", mamoritest.Password, true)) {
				t.Fatal("sign-in with TOTP failed before the rotation")
			}
			e.Clock.Add(time.Minute) // a fresh TOTP step for the next sign-in

			environ := []string{"MAMORI_KEYS_KEYSET_FILE=" + e.Config.KeysetFile}
			code, out, stderr := cliRunEnv(t, environ, append([]string{"keys", "rotate"}, storeArgs(e.Store)...)...)
			if code != 0 {
				t.Fatalf("keys rotate: %d\n%s\n%s", code, out, stderr)
			}
			for _, want := range []string{"totp_credentials.secret: 3 values, 3 re-wrapped", "pending_logins.data: 1 values, 1 re-wrapped",
				"files.file_key: 1 values, 1 re-wrapped",
				"Every encrypted value is under the primary key."} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			keys, err := envelope.LocalKeys(e.Config.KeysetFile)
			if err != nil || len(keys) != 2 {
				t.Fatalf("keyset after rotation: %v %v", keys, err)
			}

			// The running server, which has not reloaded, signs users in:
			// their secrets are read through the auth service.
			if !signedIn(e.NewBrowser().SignIn("b@example.jp", mamoritest.Password, true)) {
				t.Fatal("sign-in with TOTP failed after the rotation")
			}
			// Every encrypted field opens, and is under the new primary key.
			fresh, err := envelope.OpenLocal(e.Config.KeysetFile)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			if err := e.DB.EachSealed(context.Background(), 2, func(v store.SealedValue) error {
				n++
				if !fresh.UnderPrimary(v.Value) {
					t.Errorf("%s of %s is not under the primary key", v.Column.Name(), v.Key)
				}
				_, err := e.Sealer.Open(v.Value, v.Column.Table, v.Column.Column, v.Row)
				return err
			}); err != nil || n != 5 {
				t.Fatalf("reading every encrypted field back: %d values, %v", n, err)
			}
			if err := fs.Verify(sys, ref.SHA256); err != nil {
				t.Fatalf("the file after the rotation: %v", err)
			}
			code, out, _ = cliRunEnv(t, environ, append([]string{"keys", "list"}, storeArgs(e.Store)...)...)
			if code != 0 || !strings.Contains(out, "totp_credentials.secret") {
				t.Fatalf("keys list: %d %s", code, out)
			}

			// A ciphertext copied into another user's row does not open: that
			// user cannot sign in with the (identical) code.
			raw := mamoritest.Raw(t, e.Store)
			mamoritest.Exec(t, raw, `UPDATE totp_credentials SET secret = (SELECT secret FROM totp_credentials WHERE user_id = '`+
				users[0].ID+`') WHERE user_id = '`+users[2].ID+`'`)
			e.Clock.Add(time.Minute)
			if signedIn(e.NewBrowser().SignIn("c@example.jp", mamoritest.Password, true)) {
				t.Fatal("a TOTP secret copied from another row was accepted")
			}
			moved, err := e.DB.TOTP(mamori.WithActor(context.Background(), mamori.SystemActor()), users[2].ID)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.Sealer.Open(moved.Secret, "totp_credentials", "secret", users[2].ID); err == nil {
				t.Fatal("a ciphertext opened in another row")
			}
		})
	}
}
