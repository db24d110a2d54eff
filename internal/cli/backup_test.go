package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/auth"
	"github.com/mamori-dev/mamori/internal/backup"
	"github.com/mamori-dev/mamori/internal/config"
	"github.com/mamori-dev/mamori/internal/files"
	"github.com/mamori-dev/mamori/internal/mamoritest"
	"github.com/mamori-dev/mamori/internal/store"
)

// backupEnv is a running mamori with users (TOTP sealed), a stored file and
// a signed checkpoint, and the environment its command line needs.
func backupEnv(t *testing.T, d store.Dialect, history int) (*mamoritest.Env, []string) {
	t.Helper()
	e := mamoritest.NewEnv(t, d)
	for i := 0; i < 5; i++ {
		e.User(fmt.Sprintf("user%d@example.jp", i), true, "security_manager")
	}
	sys := mamori.WithActor(context.Background(), mamori.SystemActor())
	fs := files.New(filepath.Join(e.Store.DataDir, files.Dir), e.DB, e.Sealer, 1<<20)
	for i := 0; i < 3; i++ {
		if _, err := fs.Put(sys, strings.NewReader(strings.Repeat(fmt.Sprintf("evidence %d\n", i), 1000)), "e.txt", "text/plain"); err != nil {
			t.Fatal(err)
		}
	}
	// History enough that a snapshot takes a while.
	for i := 0; i < history/500; i++ {
		evs := make([]audit.Event, 500)
		for j := range evs {
			evs[j] = audit.New(sys, audit.UserUpdated, "user", fmt.Sprint(j)).Fields("department")
		}
		if err := e.DB.AppendAudit(sys, evs...); err != nil {
			t.Fatal(err)
		}
	}
	environ := []string{"MAMORI_KEYS_KEYSET_FILE=" + e.Config.KeysetFile}
	if code, _, stderr := cliRunEnv(t, environ, append([]string{"audit", "checkpoint"}, storeArgs(e.Store)...)...); code != 0 {
		t.Fatalf("audit checkpoint: %s", stderr)
	}
	return e, environ
}

// writeWhile keeps changing the store (accounts and audit events) until
// stop is closed, as a busy server does.
func writeWhile(t *testing.T, e *mamoritest.Env, stop chan struct{}) (*sync.WaitGroup, *atomic.Int64) {
	var wg sync.WaitGroup
	var n atomic.Int64
	sys := mamori.WithActor(context.Background(), mamori.SystemActor())
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, _, err := e.Auth.CreateWithPassword(sys, auth.UserInput{Email: fmt.Sprintf("busy%d@example.jp", i), Roles: []string{"viewer"}},
				mamoritest.Password); err != nil {
				t.Error(err)
				return
			}
			if err := e.DB.AppendAudit(sys, audit.New(sys, audit.SignInFailed, "user", fmt.Sprint(i))); err != nil {
				t.Error(err)
				return
			}
			n.Add(1)
		}
	}()
	return &wg, &n
}

func TestBackupWhileWritingRestoresToAVerifiedStore(t *testing.T) {
	for _, src := range mamoritest.Dialects() {
		t.Run("from_"+string(src), func(t *testing.T) {
			e, environ := backupEnv(t, src, 3000)
			out := filepath.Join(t.TempDir(), "mamori.backup")
			stop := make(chan struct{})
			wg, written := writeWhile(t, e, stop)
			for written.Load() < 5 { // the writer is under way
				time.Sleep(10 * time.Millisecond)
			}
			code, stdout, stderr := cliRunEnv(t, environ, append([]string{"backup", "create", "--out", out}, storeArgs(e.Store)...)...)
			during := written.Load()
			for written.Load() < during+5 { // and goes on after the snapshot
				time.Sleep(10 * time.Millisecond)
			}
			close(stop)
			wg.Wait()
			if code != 0 {
				t.Fatalf("backup create: %d %s", code, stderr)
			}
			t.Logf("%s (%d writes before it ended)", strings.TrimSpace(stdout), during)
			if !strings.Contains(stdout, "3 files") {
				t.Errorf("backup summary: %s", stdout)
			}
			code, stdout, stderr = cliRunEnv(t, environ, append([]string{"backup", "verify", out}, storeArgs(e.Store)...)...)
			if code != 0 || !strings.Contains(stdout, "verified") || !strings.Contains(stdout, "3 files checked") {
				t.Fatalf("backup verify: %d %s %s", code, stdout, stderr)
			}
			for _, dst := range mamoritest.Dialects() {
				t.Run("to_"+string(dst), func(t *testing.T) {
					o := mamoritest.Options(t, dst)
					args := append([]string{"backup", "restore", out, "--keyset", e.Config.KeysetFile}, storeArgs(o)...)
					code, stdout, stderr := cliRun(t, args...)
					if code != 0 {
						t.Fatalf("restore: %d\n%s\n%s", code, stdout, stderr)
					}
					t.Log(strings.TrimSpace(stdout))
					for _, want := range []string{"audit trail verified", "do not); 3 files match", "(0 do not)"} {
						if !strings.Contains(stdout, want) {
							t.Errorf("restore output lacks %q:\n%s", want, stdout)
						}
					}
					// The restored store serves its data: the accounts are
					// there, TOTP secrets open, and audit verify passes.
					db := mamoritest.OpenWith(t, o)
					sys := mamori.WithActor(context.Background(), mamori.SystemActor())
					if n, err := db.CountUsers(sys); err != nil || n < 5 {
						t.Fatalf("restored users: %d %v", n, err)
					}
					code, stdout, stderr = cliRunEnv(t, nil, append([]string{"audit", "verify"}, storeArgs(o)...)...)
					if code != 0 {
						t.Fatalf("audit verify of the restored store: %s %s", stdout, stderr)
					}
					// A second restore into the same store is refused.
					if code, _, stderr := cliRun(t, args...); code == 0 || !strings.Contains(stderr, "not empty") {
						t.Fatalf("restore into a store with data: %d %s", code, stderr)
					}
				})
			}
		})
	}
}

func TestBackupVerifyReportsOneFlippedByte(t *testing.T) {
	e, environ := backupEnv(t, store.SQLite, 0)
	out := filepath.Join(t.TempDir(), "mamori.backup")
	if code, _, stderr := cliRunEnv(t, environ, append([]string{"backup", "create", "--out", out}, storeArgs(e.Store)...)...); code != 0 {
		t.Fatal(stderr)
	}
	good, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []struct {
		name string
		pos  int
	}{
		{"magic", 3},
		{"header", 40},
		{"ciphertext start", 600},
		{"ciphertext middle", len(good) / 2},
		{"ciphertext end", len(good) - 400},
		{"signature", len(good) - 40},
		{"footer", len(good) - 3},
		{"last byte", len(good) - 1},
	} {
		t.Run(strings.ReplaceAll(at.name, " ", "_"), func(t *testing.T) {
			bad := append([]byte(nil), good...)
			bad[at.pos] ^= 0x04
			p := filepath.Join(t.TempDir(), "flipped.backup")
			if err := os.WriteFile(p, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := cliRunEnv(t, environ, append([]string{"backup", "verify", p}, storeArgs(e.Store)...)...)
			if code == 0 {
				t.Fatalf("a flipped byte at %d (%s) was not reported: %s", at.pos, at.name, stdout)
			}
			if !strings.Contains(stderr, "is NOT verified") {
				t.Errorf("report: %s", stderr)
			}
			t.Log(strings.TrimSpace(stderr))
			o := mamoritest.Options(t, store.SQLite)
			if code, _, _ := cliRun(t, append([]string{"backup", "restore", p, "--keyset", e.Config.KeysetFile}, storeArgs(o)...)...); code == 0 {
				t.Fatal("a damaged backup was restored")
			}
		})
	}
	// The untouched file still verifies, and another installation's key
	// does not vouch for it.
	if code, _, stderr := cliRunEnv(t, environ, append([]string{"backup", "verify", out}, storeArgs(e.Store)...)...); code != 0 {
		t.Fatal(stderr)
	}
	if code, _, _ := cliRunEnv(t, environ, append([]string{"backup", "verify", out, "--key", "x+00000000+AQ=="}, storeArgs(e.Store)...)...); code == 0 {
		t.Fatal("verified with an unrelated key")
	}
}

func TestScheduledBackupsWithRestoreDrills(t *testing.T) {
	for _, d := range mamoritest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e, _ := backupEnv(t, d, 0)
			dirs := []string{filepath.Join(t.TempDir(), "nas"), filepath.Join(t.TempDir(), "offsite")}
			cfg, err := config.Load(config.Source{Flags: map[string]string{"data_dir": e.Store.DataDir, "database_url": e.Store.DatabaseURL,
				"keys.keyset_file": e.Config.KeysetFile, "backup.dirs": strings.Join(dirs, ","), "backup.retention": "2"}})
			if err != nil {
				t.Fatal(err)
			}
			svc, err := newServices(context.Background(), cfg, e.DB, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			sys := mamori.WithActor(context.Background(), mamori.SystemActor())
			for i := 0; i < 3; i++ {
				// Names carry the time to the second.
				svc.drills.Now = func() time.Time { return time.Date(2026, 4, 1+i, 2, 0, 0, 0, time.UTC) }
				dr, err := svc.drills.RunOnce(sys, backup.Scheduled)
				if err != nil {
					t.Fatalf("drill %d: %v", i, err)
				}
				if dr.Outcome != backup.Success || !dr.Verified || !dr.Restored || !dr.AuditVerified || len(dr.Locations) != 2 ||
					dr.Size == 0 || dr.AuditEvents == 0 {
					t.Fatalf("drill %d: %+v", i, dr)
				}
			}
			for _, dir := range dirs {
				names, _ := filepath.Glob(filepath.Join(dir, "mamori-*.backup"))
				if len(names) != 2 || !strings.HasSuffix(names[0], "mamori-20260402T020000Z.backup") {
					t.Fatalf("retention in %s: %v", dir, names)
				}
				leftovers, _ := filepath.Glob(filepath.Join(e.Store.DataDir, ".restore-drill-*"))
				if len(leftovers) != 0 {
					t.Fatalf("test restores left %v", leftovers)
				}
			}
			drills, err := svc.backup.Drills(sys, 10)
			if err != nil || len(drills) != 3 {
				t.Fatalf("drill records: %d %v", len(drills), err)
			}
			// A second place that cannot be written fails the next drill, and
			// the failure is recorded.
			if err := os.RemoveAll(dirs[1]); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dirs[1], []byte("not a directory"), 0o600); err != nil {
				t.Fatal(err)
			}
			svc.drills.Now = func() time.Time { return time.Date(2026, 4, 9, 2, 0, 0, 0, time.UTC) }
			dr, err := svc.drills.RunOnce(sys, backup.Scheduled)
			if err == nil || dr.Outcome != backup.Failure || !strings.Contains(dr.Error, "offsite") {
				t.Fatalf("a drill that could not copy: %+v %v", dr, err)
			}
			if last, err := e.DB.LatestDrill(sys, backup.Scheduled); err != nil || last.Outcome != backup.Failure {
				t.Fatalf("the failed drill is not recorded: %+v %v", last, err)
			}
			recs, _, err := audit.NewService(e.DB, nil, nil, nil, nil).Events(sys, audit.Filter{Type: "backup.drill"})
			if err != nil || len(recs) < 3 {
				t.Fatalf("drill audit events: %d %v", len(recs), err)
			}
		})
	}
}
