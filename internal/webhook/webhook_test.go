package webhook_test

import (
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/webhook"
)

func TestPublishesTheSignedNote(t *testing.T) {
	dir := t.TempDir()
	s, err := audit.LoadOrCreateSigner(dir, "hook.example/audit")
	if err != nil {
		t.Fatal(err)
	}
	v, _ := audit.LoadVerifiers(dir)
	root := sha256.Sum256(nil)
	cp, _ := s.SignCheckpoint(3, root[:], time.Now())
	var got []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("X-Mamori-Tree-Size") != "3" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		got, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	if err := webhook.NewCheckpoints(srv.URL+"/cp?token=secret").Publish(context.Background(), cp); err != nil {
		t.Fatal(err)
	}
	if _, err := audit.ParseCheckpoint(got, v); err != nil {
		t.Fatalf("receiver cannot verify what it got: %v", err)
	}
	if s := webhook.NewCheckpoints(srv.URL + "/cp?token=secret").String(); s != "webhook "+srv.URL+"/cp" {
		t.Errorf("String() leaks the query: %s", s)
	}
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer failing.Close()
	if err := webhook.NewCheckpoints(failing.URL).Publish(context.Background(), cp); err == nil {
		t.Fatal("a 500 answer counted as published")
	}
}
