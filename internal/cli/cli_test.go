package cli

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mamori-dev/mamori/internal/mamoritest"
	"github.com/mamori-dev/mamori/internal/store"
)

type result struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, environ []string, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, environFn: func() []string { return environ }}
	code := run(context.Background(), args, e)
	return result{code, out.String(), errb.String()}
}

func TestBadSettingsAreNamed(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "not-a-dir")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "mamori.yaml")
	if err := os.WriteFile(cfgFile, []byte("listen: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		environ []string
		args    []string
		key     string
	}{
		{"unknown environment key", []string{"MAMORI_DATA_DIR=" + dir, "MAMORI_LISTEN=:80"}, []string{"config", "check"}, "MAMORI_LISTEN"},
		{"unknown file key", []string{"MAMORI_DATA_DIR=" + dir}, []string{"config", "check", "--config", cfgFile}, "listen"},
		{"data dir is a file", nil, []string{"config", "check", "--data-dir", file}, "data_dir"},
		{"malformed database url", []string{"MAMORI_DATA_DIR=" + dir}, []string{"migrate", "status", "--database-url", "postgres//nohost"}, "database_url"},
		{"bad address", []string{"MAMORI_DATA_DIR=" + dir}, []string{"serve", "--addr", "localhost"}, "addr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.environ, "", tc.args...)
			if r.code == 0 {
				t.Fatalf("exit 0; stderr %s", r.stderr)
			}
			if !strings.Contains(r.stderr, tc.key+":") {
				t.Errorf("stderr does not name %s:\n%s", tc.key, r.stderr)
			}
		})
	}
}

func TestConfigCheckRedacts(t *testing.T) {
	dir := t.TempDir()
	r := runCLI(t, []string{"MAMORI_DATA_DIR=" + dir, "MAMORI_SMTP_HOST=mail.example.jp", "MAMORI_SMTP_FROM=m@example.jp",
		"MAMORI_SMTP_PASSWORD=very-secret"}, "", "config", "check")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout, "very-secret") || !strings.Contains(r.stdout, "[REDACTED]") {
		t.Errorf("secret not redacted:\n%s", r.stdout)
	}
}

func TestMigrateAndAdminCreate(t *testing.T) {
	for _, d := range mamoritest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			o := mamoritest.Options(t, d)
			environ := []string{"MAMORI_DATA_DIR=" + o.DataDir, "MAMORI_DATABASE_URL=" + o.DatabaseURL}
			if r := runCLI(t, environ, "", "migrate", "status"); r.code != 0 || !strings.Contains(r.stdout, "pending") {
				t.Fatalf("status before: %d %s %s", r.code, r.stdout, r.stderr)
			}
			if r := runCLI(t, environ, "", "migrate", "up"); r.code != 0 || !strings.Contains(r.stdout, "Applied") {
				t.Fatalf("up: %d %s %s", r.code, r.stdout, r.stderr)
			}
			if r := runCLI(t, environ, "", "migrate", "status"); r.code != 0 || strings.Contains(r.stdout, "pending") {
				t.Fatalf("status after: %d %s", r.code, r.stdout)
			}
			r := runCLI(t, environ, "Kamakura-Daibutsu-1252\n", "admin", "create", "--email", "Root@Example.JP", "--name", "管理者")
			if r.code != 0 || !strings.Contains(r.stdout, "root@example.jp") || strings.Contains(r.stdout, "Password") {
				t.Fatalf("admin create with stdin password: %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			r = runCLI(t, environ, "", "admin", "create", "--email", "second@example.jp")
			if r.code != 0 || !regexp.MustCompile(`Password \(shown once[^)]*\): \S{20}`).MatchString(r.stdout) {
				t.Fatalf("admin create with generated password: %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			r = runCLI(t, environ, "", "admin", "create", "--email", "root@example.jp")
			if r.code == 0 || !strings.Contains(r.stderr, "email") {
				t.Fatalf("duplicate admin: %d %s", r.code, r.stderr)
			}
			r = runCLI(t, environ, "password\n", "admin", "create", "--email", "weak@example.jp")
			if r.code == 0 || !strings.Contains(r.stderr, "password") {
				t.Fatalf("weak password accepted: %d %s", r.code, r.stderr)
			}
		})
	}
}

func TestServeAndGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	pr, pw := io.Pipe()
	var out bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: pw, environFn: func() []string {
		return []string{"MAMORI_DATA_DIR=" + dir, "MAMORI_LOG_LEVEL=warn"}
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--demo"}, e); pw.Close() }()
	var url string
	sc := bufio.NewScanner(pr)
	re := regexp.MustCompile(`running at (http://127\.0\.0\.1:\d+)`)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			url = m[1]
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if url == "" {
		cancel()
		t.Fatalf("server did not start:\n%s", strings.Join(lines, "\n"))
	}
	if !strings.Contains(strings.Join(lines, "\n"), "admin@demo.mamori.jp") {
		t.Errorf("--demo did not print the first administrator:\n%s", strings.Join(lines, "\n"))
	}
	res, err := http.Get(url + "/readyz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", res, err)
	}
	res.Body.Close()
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not shut down")
	}
	// The data directory holds the database and a private keyset.
	for _, f := range []string{store.SQLiteFile, filepath.Join("keys", "kek.json")} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	// --demo also starts a sample self-assessment.
	if r := runCLI(t, nil, "", "assessment", "list", "--data-dir", dir); r.code != 0 || !strings.Contains(r.stdout, "（デモ）") {
		t.Errorf("demo assessment: %+v", r)
	}
}

func TestVersionAndUsage(t *testing.T) {
	if r := runCLI(t, nil, "", "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "mamori ") {
		t.Errorf("version: %+v", r)
	}
	if r := runCLI(t, nil, "", "nonsense"); r.code != 2 || !strings.Contains(r.stderr, "unknown command") {
		t.Errorf("unknown command: %+v", r)
	}
	if r := runCLI(t, nil, ""); r.code != 2 {
		t.Errorf("no command: %+v", r)
	}
}
