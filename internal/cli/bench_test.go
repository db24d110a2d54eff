package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/files"
	"github.com/mamori-dev/mamori/internal/mamoritest"
)

func benchCount(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchmarkBackup measures backup create, verify and restore (into SQLite)
// of a realistic database: MAMORI_BENCH_EVENTS audit events (default
// 1,000,000, a few years of a mid-sized institution), 200 accounts with
// TOTP, and MAMORI_BENCH_FILES evidence files of 256 KiB (default 100).
func BenchmarkBackup(b *testing.B) {
	for _, d := range mamoritest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			e := mamoritest.NewEnv(b, d)
			sys := mamori.WithActor(context.Background(), mamori.SystemActor())
			start := time.Now()
			for i := 0; i < 200; i++ {
				e.User(fmt.Sprintf("user%03d@example.jp", i), true, "security_manager")
			}
			fs := files.New(filepath.Join(e.Store.DataDir, files.Dir), e.DB, e.Sealer, 1<<20)
			buf := make([]byte, 256<<10)
			for i := 0; i < benchCount("MAMORI_BENCH_FILES", 100); i++ {
				rand.Read(buf)
				if _, err := fs.Put(sys, bytes.NewReader(buf), "evidence.pdf", "application/pdf"); err != nil {
					b.Fatal(err)
				}
			}
			n := benchCount("MAMORI_BENCH_EVENTS", 1_000_000)
			for i := 0; i < n; i += 5000 {
				evs := make([]audit.Event, 0, 5000)
				for j := i; j < min(i+5000, n); j++ {
					evs = append(evs, audit.New(sys, audit.UserUpdated, "user", fmt.Sprintf("0190f000-0000-7000-8000-%012d", j%5000)).
						Fields("display_name", "department").With("version", j%17))
				}
				if err := e.DB.AppendAudit(sys, evs...); err != nil {
					b.Fatal(err)
				}
			}
			environ := []string{"MAMORI_KEYS_KEYSET_FILE=" + e.Config.KeysetFile}
			if code, _, stderr := cliRunEnv(b, environ, append([]string{"audit", "checkpoint"}, storeArgs(e.Store)...)...); code != 0 {
				b.Fatal(stderr)
			}
			b.Logf("%s: generated %d events, 200 accounts, files in %s", d, n, time.Since(start).Round(time.Second))
			out := filepath.Join(b.TempDir(), "bench.backup")
			run := func(args ...string) {
				b.Helper()
				if code, stdout, stderr := cliRunEnv(b, environ, args...); code != 0 {
					b.Fatalf("%v: %s %s", args, stdout, stderr)
				}
			}
			b.Run("create", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					run(append([]string{"backup", "create", "--out", out}, storeArgs(e.Store)...)...)
				}
				fi, _ := os.Stat(out)
				b.ReportMetric(float64(fi.Size())/(1<<20), "MiB")
			})
			b.Run("verify", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					run(append([]string{"backup", "verify", out}, storeArgs(e.Store)...)...)
				}
			})
			b.Run("restore", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					dir := b.TempDir()
					run("backup", "restore", out, "--data-dir", dir, "--keyset", e.Config.KeysetFile)
				}
			})
		})
	}
}
