package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/mamoritest"
	"github.com/mamori-dev/mamori/internal/store"
)

// cliRun runs the command line with an empty environment and returns the
// exit code and both streams.
func cliRun(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	return cliRunEnv(t, nil, args...)
}

// cliRunEnv runs the command line with the given environment.
func cliRunEnv(t testing.TB, environ []string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, environFn: func() []string { return environ }}
	code := run(context.Background(), args, e)
	return code, out.String(), errb.String()
}

// storeArgs are the flags that select the store of o.
func storeArgs(o store.Options) []string {
	a := []string{"--data-dir", o.DataDir}
	if o.DatabaseURL != "" {
		a = append(a, "--database-url", o.DatabaseURL)
	}
	return a
}

// seedTrail creates a migrated store with n audit events, and signs a
// checkpoint through the CLI.
func seedTrail(t *testing.T, d store.Dialect, n int) (store.Options, *store.DB) {
	t.Helper()
	o := mamoritest.Options(t, d)
	if code, _, stderr := cliRun(t, append([]string{"migrate", "up"}, storeArgs(o)...)...); code != 0 {
		t.Fatalf("migrate: %d %s", code, stderr)
	}
	db, err := store.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := mamori.WithActor(context.Background(), mamori.SystemActor())
	for i := 0; i < n; i += 2 {
		if err := db.AppendAudit(ctx,
			audit.New(ctx, audit.SignInFailed, "user", fmt.Sprintf("user-%d", i)).With("reason", "password"),
			audit.New(ctx, audit.RoleGranted, "user", fmt.Sprintf("user-%d", i)).With("role", "auditor")); err != nil {
			t.Fatal(err)
		}
	}
	if code, out, stderr := cliRun(t, append([]string{"audit", "checkpoint"}, storeArgs(o)...)...); code != 0 || !strings.Contains(out, fmt.Sprintf("\n%d\n", n)) {
		t.Fatalf("audit checkpoint: %d %q %s", code, out, stderr)
	}
	return o, db
}

func idAt(t *testing.T, db *store.DB, seq uint64) string {
	t.Helper()
	var id string
	if err := db.ScanAuditEvents(context.Background(), seq, seq+1, func(e *audit.StoredEvent) error { id = e.ID; return nil }); err != nil || id == "" {
		t.Fatalf("event %d: %v", seq, err)
	}
	return id
}

func TestAuditVerifyCommand(t *testing.T) {
	for _, d := range mamoritest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Run("untouched", func(t *testing.T) {
				o, _ := seedTrail(t, d, 40)
				code, out, stderr := cliRun(t, append([]string{"audit", "verify"}, storeArgs(o)...)...)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 1 ||
					!strings.HasPrefix(lines[0], "audit trail verified: 40 events") || !strings.Contains(lines[0], "1 signed checkpoint") {
					t.Fatalf("summary: %q", out)
				}
			})
			for _, tc := range []struct {
				name   string
				tamper []string
				seq    uint64 // the event the report must name (by seq and ID)
				nameID bool
				want   string
			}{
				{"changed", []string{`UPDATE audit_events SET target_id = 'someone-else' WHERE seq = 17`}, 17, true, "was changed"},
				{"removed", []string{`DELETE FROM audit_events WHERE seq = 23`}, 23, false, "seq 23 was removed"},
				{"inserted", []string{
					`UPDATE audit_events SET seq = seq + 1000000 WHERE seq >= 10`,
					`UPDATE audit_events SET seq = seq - 999999 WHERE seq >= 1000000`,
					`INSERT INTO audit_events (seq, id, at, type, code, actor_id, target_type, target_id, outcome, details, leaf_hash)
						SELECT 10, 'forged-event', at, type, code, actor_id, target_type, 'intruder', outcome, details, leaf_hash
						FROM audit_events WHERE seq = 9`}, 10, false, "forged-event"},
				{"reordered", []string{
					`UPDATE audit_events SET seq = -1 WHERE seq = 5`,
					`UPDATE audit_events SET seq = 5 WHERE seq = 31`,
					`UPDATE audit_events SET seq = 31 WHERE seq = -1`}, 5, true, "reordered"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					o, db := seedTrail(t, d, 40)
					// The ID the report must name: for a reorder, the event
					// that now sits at the position.
					var id string
					if tc.nameID {
						id = idAt(t, db, tc.seq)
						if tc.name == "reordered" {
							id = idAt(t, db, 31)
						}
					}
					raw := mamoritest.Raw(t, o)
					mamoritest.DropAuditTriggers(t, raw, d)
					mamoritest.Exec(t, raw, tc.tamper...)
					code, out, stderr := cliRun(t, append([]string{"audit", "verify"}, storeArgs(o)...)...)
					if code == 0 {
						t.Fatalf("tampering (%s) not detected: %s", tc.name, out)
					}
					if !strings.Contains(stderr, tc.want) {
						t.Errorf("report lacks %q:\n%s", tc.want, stderr)
					}
					if !regexp.MustCompile(fmt.Sprintf(`first event concerned: seq %d\b`, tc.seq)).MatchString(stderr) {
						t.Errorf("report does not name seq %d:\n%s", tc.seq, stderr)
					}
					if id != "" && !strings.Contains(stderr, id) {
						t.Errorf("report does not name event %s:\n%s", id, stderr)
					}
				})
			}
		})
	}
}

func TestAuditVerifyWithKeptCheckpoint(t *testing.T) {
	o, db := seedTrail(t, store.SQLite, 10)
	// The auditor keeps the signed checkpoint; the trail grows; a DBA then
	// rewrites history and the stored checkpoints too.
	cp, err := db.LatestCheckpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	kept := filepath.Join(t.TempDir(), "q1-checkpoint.txt")
	if err := os.WriteFile(kept, []byte(cp.Note), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := cliRun(t, append([]string{"audit", "verify", "--checkpoint", kept}, storeArgs(o)...)...)
	if code != 0 || !strings.Contains(out, "2 signed checkpoint") {
		t.Fatalf("kept checkpoint: %d %s %s", code, out, stderr)
	}
	raw := mamoritest.Raw(t, o)
	mamoritest.DropAuditTriggers(t, raw, store.SQLite)
	mamoritest.Exec(t, raw, `DROP TRIGGER audit_checkpoints_no_delete`, `DELETE FROM audit_checkpoints`,
		`DELETE FROM audit_events WHERE seq >= 8`)
	code, _, stderr = cliRun(t, append([]string{"audit", "verify", "--checkpoint", kept}, storeArgs(o)...)...)
	if code == 0 || !strings.Contains(stderr, "events from seq 8 to 9 were removed") || !strings.Contains(stderr, kept) {
		t.Fatalf("cut trail against the kept checkpoint: %d %s", code, stderr)
	}
	// Without a trusted key the kept checkpoint proves nothing.
	code, _, stderr = cliRun(t, append([]string{"audit", "verify", "--checkpoint", kept, "--key", "other+00000000+AAAA"}, storeArgs(o)...)...)
	if code == 0 {
		t.Fatalf("untrusted key accepted: %s", stderr)
	}
}
