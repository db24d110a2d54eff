package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/config"
)

func TestDefaultsAndPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "mamori.yaml")
	if err := os.WriteFile(file, []byte("addr: 127.0.0.1:9000\nsession:\n  idle_timeout: 20m\nsmtp:\n  host: mail.example.jp\n  from: mamori@example.jp\n  password: s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(config.Source{
		File:    file,
		Environ: []string{"MAMORI_DATA_DIR=" + dir, "MAMORI_SESSION_IDLE_TIMEOUT=15m", "PATH=/bin"},
		Flags:   map[string]string{"addr": "127.0.0.1:9100"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9100" {
		t.Errorf("flag should win over file: addr = %s", c.Addr)
	}
	if c.SessionIdle != 15*time.Minute {
		t.Errorf("env should win over file: idle = %s", c.SessionIdle)
	}
	if c.SessionAbsolute != 12*time.Hour || c.InactiveDisableDays != 90 || c.MFARequired != "writers" {
		t.Errorf("defaults not applied: %+v", c)
	}
	if c.BaseURL != "http://localhost:9100" {
		t.Errorf("base url = %s", c.BaseURL)
	}
	if c.KeysetFile != filepath.Join(dir, "keys", "kek.json") {
		t.Errorf("keyset = %s", c.KeysetFile)
	}
	for _, s := range c.Redacted() {
		if strings.Contains(s.Value, "s3cret") {
			t.Errorf("secret %s shown: %s", s.Key, s.Value)
		}
	}
}

func TestDatabaseURLRedacted(t *testing.T) {
	c, err := config.Load(config.Source{Environ: []string{"MAMORI_DATA_DIR=" + t.TempDir(),
		"MAMORI_DATABASE_URL=postgres://mamori:hunter2@db.internal:5432/mamori?sslmode=require"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range c.Redacted() {
		if s.Key == "database_url" && (strings.Contains(s.Value, "hunter2") || !strings.Contains(s.Value, "db.internal")) {
			t.Errorf("database_url shown as %q", s.Value)
		}
	}
}

func TestEveryProblemNamedByKey(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(file, []byte("adr: 1\nsession:\n  idle_timeout: soon\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		src  config.Source
		keys []string
	}{
		{"unknown file key and bad duration", config.Source{File: file, Environ: []string{"MAMORI_DATA_DIR=" + dir}}, []string{"adr", "session.idle_timeout"}},
		{"unknown env var", config.Source{Environ: []string{"MAMORI_DATA_DIR=" + dir, "MAMORI_ADRESS=x"}}, []string{"MAMORI_ADRESS"}},
		{"data dir is a file", config.Source{Environ: []string{"MAMORI_DATA_DIR=" + notDir}}, []string{"data_dir"}},
		{"malformed database url", config.Source{Environ: []string{"MAMORI_DATA_DIR=" + dir, "MAMORI_DATABASE_URL=mysql://x/y"}}, []string{"database_url"}},
		{"several at once", config.Source{Environ: []string{"MAMORI_DATA_DIR=" + dir}, Flags: map[string]string{
			"addr": "nope", "log.level": "loud", "smtp.host": "mail", "tls.cert": "/nonexistent.pem"}},
			[]string{"addr", "log.level", "smtp.host", "tls.cert"}},
		{"missing file", config.Source{File: filepath.Join(dir, "none.yaml"), Environ: []string{"MAMORI_DATA_DIR=" + dir}}, []string{"config"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(tt.src)
			if mamori.ErrorCode(err) != mamori.EINVALID {
				t.Fatalf("err = %v, want EINVALID", err)
			}
			fields := mamori.ErrorFields(err)
			for _, k := range tt.keys {
				if fields[k] == "" {
					t.Errorf("problem with %s not reported; got %v", k, fields)
				}
			}
		})
	}
}
