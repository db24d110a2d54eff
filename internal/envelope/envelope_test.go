package envelope_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/mamori-dev/mamori/internal/envelope"
)

func TestSealOpenBoundToPlace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "kek.json")
	s, err := envelope.OpenLocal(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("keyset mode %04o, want 0600", fi.Mode().Perm())
	}
	secret := []byte("JBSWY3DPEHPK3PXP")
	ct, err := s.Seal(secret, "totp_credentials", "secret", "user-1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, secret) {
		t.Fatal("ciphertext contains the plaintext")
	}
	pt, err := s.Open(ct, "totp_credentials", "secret", "user-1")
	if err != nil || !bytes.Equal(pt, secret) {
		t.Fatalf("open: %q, %v", pt, err)
	}
	for name, place := range map[string][3]string{
		"other row":    {"totp_credentials", "secret", "user-2"},
		"other column": {"totp_credentials", "other", "user-1"},
		"other table":  {"settings", "secret", "user-1"},
	} {
		if _, err := s.Open(ct, place[0], place[1], place[2]); err == nil {
			t.Errorf("%s: ciphertext opened in the wrong place", name)
		}
	}
	tampered := append([]byte(nil), ct...)
	tampered[len(tampered)-1] ^= 1
	if _, err := s.Open(tampered, "totp_credentials", "secret", "user-1"); err == nil {
		t.Error("tampered ciphertext opened")
	}
}

func TestRotateAndRewrap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kek.json")
	s, err := envelope.OpenLocal(path)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := s.Seal([]byte("v"), "t", "c", "r")
	if err != nil {
		t.Fatal(err)
	}
	if _, changed, err := s.Rewrap(ct); err != nil || changed {
		t.Fatalf("rewrap before rotation: changed=%v err=%v", changed, err)
	}
	if _, err := envelope.RotateLocal(path); err != nil {
		t.Fatal(err)
	}
	// A running server notices the rotation when it meets a new key, and
	// old values stay readable throughout.
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if pt, err := s.Open(ct, "t", "c", "r"); err != nil || string(pt) != "v" {
		t.Fatalf("old value after rotation: %q %v", pt, err)
	}
	re, changed, err := s.Rewrap(ct)
	if err != nil || !changed {
		t.Fatalf("rewrap after rotation: changed=%v err=%v", changed, err)
	}
	if pt, err := s.Open(re, "t", "c", "r"); err != nil || string(pt) != "v" {
		t.Fatalf("rewrapped value: %q %v", pt, err)
	}
	if _, changed, _ := s.Rewrap(re); changed {
		t.Error("rewrap of a rewrapped value changed it again")
	}
	keys, err := envelope.LocalKeys(path)
	if err != nil || len(keys) != 2 {
		t.Fatalf("keys: %v %v", keys, err)
	}
	// Another process's Sealer that has not reloaded still reads new values.
	other, err := envelope.OpenLocal(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Open(re, "t", "c", "r"); err != nil {
		t.Fatal(err)
	}
}

func TestRefusesReadableKeyset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kek.json")
	if _, err := envelope.OpenLocal(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := envelope.OpenLocal(path); err == nil {
		t.Fatal("opened a world-readable keyset")
	}
}
