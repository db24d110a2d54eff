package files_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/envelope"
	"github.com/mamori-dev/mamori/internal/files"
	"github.com/mamori-dev/mamori/internal/mamoritest"
	"github.com/mamori-dev/mamori/internal/store"
)

var system = mamori.WithActor(context.Background(), mamori.SystemActor())

func newFiles(t *testing.T, db *store.DB) (*files.Service, string) {
	t.Helper()
	dir := t.TempDir()
	sealer, err := envelope.OpenLocal(filepath.Join(dir, "keys", "kek.json"))
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, files.Dir)
	return files.New(root, db, sealer, 8<<20), root
}

func blobOf(t *testing.T, db *store.DB, root, sha string) string {
	t.Helper()
	st, err := db.File(context.Background(), sha)
	if err != nil {
		t.Fatal(err)
	}
	return files.Path(root, st.SHA256, st.Blob)
}

func TestPutOpenVerified(t *testing.T) {
	mamoritest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		fs, root := newFiles(t, db)
		content := make([]byte, 3<<20+12345) // several streaming segments
		rand.Read(content)
		copy(content, "CONFIDENTIAL incident report")
		sum := sha256.Sum256(content)
		ref, err := fs.Put(system, bytes.NewReader(content), "report.pdf", "application/pdf")
		if err != nil {
			t.Fatal(err)
		}
		if ref.SHA256 != hex.EncodeToString(sum[:]) || ref.Size != int64(len(content)) || ref.Name != "report.pdf" {
			t.Fatalf("ref %+v", ref)
		}
		path := blobOf(t, db, root, ref.SHA256)
		ct, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(ct, []byte("CONFIDENTIAL")) {
			t.Fatal("the file is stored in clear")
		}
		r, err := fs.Open(system, ref)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("read back %d bytes, err %v", len(got), err)
		}
		// The same content again: the same reference, nothing new recorded.
		again, err := fs.Put(system, bytes.NewReader(content), "copy.pdf", "application/pdf")
		if err != nil || again.SHA256 != ref.SHA256 {
			t.Fatalf("second put: %+v %v", again, err)
		}
		recs, n, err := audit.NewService(db, nil, nil, nil, nil).Events(system, audit.Filter{Type: string(audit.FileStored)})
		if err != nil || n != 1 || recs[0].TargetID != ref.SHA256 || !strings.Contains(recs[0].DetailsText, fmt.Sprintf(`"size":%d`, len(content))) {
			t.Fatalf("audit of the stored file: %d %v %+v", n, err, recs)
		}
		if err := fs.Verify(system, ref.SHA256); err != nil {
			t.Fatal(err)
		}

		// One flipped byte of ciphertext: the download is refused.
		ct[len(ct)/2] ^= 0x01
		if err := os.WriteFile(path, ct, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := fs.Open(system, ref); !errors.Is(err, files.ErrCorrupt) {
			t.Fatalf("open of a damaged file: %v", err)
		}
		if err := fs.Verify(system, ref.SHA256); !errors.Is(err, files.ErrCorrupt) {
			t.Fatalf("verify of a damaged file: %v", err)
		}
	})
}

func TestSwappedCiphertextRefused(t *testing.T) {
	db := mamoritest.OpenDB(t, store.SQLite, nil)
	fs, root := newFiles(t, db)
	a, err := fs.Put(system, strings.NewReader("evidence A"), "a.txt", "text/plain")
	if err != nil {
		t.Fatal(err)
	}
	b, err := fs.Put(system, strings.NewReader("evidence B"), "b.txt", "text/plain")
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := os.ReadFile(blobOf(t, db, root, b.SHA256))
	if err := os.WriteFile(blobOf(t, db, root, a.SHA256), cb, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Open(system, a); !errors.Is(err, files.ErrCorrupt) {
		t.Fatalf("another file's ciphertext in place of A: %v", err)
	}
	if _, err := fs.Put(system, bytes.NewReader(make([]byte, 9<<20)), "big", ""); mamori.ErrorCode(err) != mamori.EINVALID {
		t.Fatalf("a file over the limit: %v", err)
	}
	if _, err := fs.Put(context.Background(), strings.NewReader("x"), "x", ""); err == nil {
		t.Fatal("a file stored without an actor")
	}
}

func TestConcurrentPutsOfTheSameContent(t *testing.T) {
	mamoritest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		fs, _ := newFiles(t, db)
		content := bytes.Repeat([]byte("same content "), 10000)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := fs.Put(system, bytes.NewReader(content), "same.txt", "text/plain")
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		sum := sha256.Sum256(content)
		r, err := fs.Open(system, files.Ref{SHA256: hex.EncodeToString(sum[:])})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("after concurrent puts: %v", err)
		}
	})
}
