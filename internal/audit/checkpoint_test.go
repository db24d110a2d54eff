package audit_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/mamori-dev/mamori/internal/audit"
)

func TestSignedCheckpointRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, err := audit.LoadOrCreateSigner(dir, audit.OriginFor("https://mamori.example.co.jp"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, audit.SigningKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("signing key mode: %v %v", fi, err)
	}
	root := sha256.Sum256([]byte("root"))
	at := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	cp, err := s.SignCheckpoint(1234, root[:], at)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cp.Note, "mamori.example.co.jp/audit\n1234\n") {
		t.Fatalf("note does not start with origin and size:\n%s", cp.Note)
	}
	v, err := audit.LoadVerifiers(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := audit.ParseCheckpoint([]byte(cp.Note), v)
	if err != nil {
		t.Fatal(err)
	}
	if got.Size != 1234 || !bytes.Equal(got.Root, root[:]) || !got.Time.Equal(at) || got.Origin != "mamori.example.co.jp/audit" {
		t.Fatalf("parsed %+v", got)
	}
	// Any signed-note implementation verifies it with the public key alone.
	nv, err := note.NewVerifier(s.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open([]byte(cp.Note), note.VerifierList(nv)); err != nil {
		t.Fatalf("golang.org/x/mod/sumdb/note rejects the checkpoint: %v", err)
	}
	// A changed size or root is refused.
	forged := strings.Replace(cp.Note, "\n1234\n", "\n1235\n", 1)
	if _, err := audit.ParseCheckpoint([]byte(forged), v); !errors.Is(err, audit.ErrCheckpoint) {
		t.Fatalf("forged checkpoint: %v", err)
	}
	// Another installation's key is not trusted.
	other, err := audit.LoadOrCreateSigner(t.TempDir(), "mamori.example.co.jp/audit")
	if err != nil {
		t.Fatal(err)
	}
	cp2, _ := other.SignCheckpoint(1234, root[:], at)
	if _, err := audit.ParseCheckpoint([]byte(cp2.Note), v); err == nil {
		t.Fatal("checkpoint of an unknown key accepted")
	}
	// Reopening keeps the key.
	again, err := audit.LoadOrCreateSigner(dir, "ignored")
	if err != nil || again.VerifierKey() != s.VerifierKey() {
		t.Fatalf("reopened key differs: %v", err)
	}
}

func FuzzParseCheckpoint(f *testing.F) {
	dir := f.TempDir()
	s, err := audit.LoadOrCreateSigner(dir, "fuzz.example/audit")
	if err != nil {
		f.Fatal(err)
	}
	v, _ := audit.LoadVerifiers(dir)
	root := sha256.Sum256(nil)
	cp, _ := s.SignCheckpoint(7, root[:], time.Unix(0, 0))
	f.Add([]byte(cp.Note))
	f.Add([]byte("origin\n1\nAAAA\n\n— origin AAAAAAAAAA==\n"))
	f.Add([]byte(""))
	f.Add([]byte("\n\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := audit.ParseCheckpoint(b, v)
		if err == nil && (got == nil || len(got.Root) != 32) {
			t.Fatalf("accepted a checkpoint without a 32-byte root: %+v", got)
		}
	})
}
