package mamoritest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"sync"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/control"
)

// Files is an in-memory, content-addressed stand-in for the evidence file
// store: Put keeps the bytes under their SHA-256 and Open checks them
// against the reference, as the real store does.
type Files struct {
	mu    sync.Mutex
	blobs map[string][]byte
	// Limit, when positive, refuses larger files.
	Limit int64
}

// NewFiles returns an empty store.
func NewFiles() *Files { return &Files{blobs: map[string][]byte{}} }

// Put stores the content of r.
func (f *Files) Put(_ context.Context, r io.Reader, name, mediaType string) (control.FileRef, error) {
	var src io.Reader = r
	if f.Limit > 0 {
		src = io.LimitReader(r, f.Limit+1)
	}
	b, err := io.ReadAll(src)
	if err != nil {
		return control.FileRef{}, err
	}
	if f.Limit > 0 && int64(len(b)) > f.Limit {
		return control.FileRef{}, mamori.Errorf(mamori.ETOOLARGE, "The file is too large.")
	}
	sum := sha256.Sum256(b)
	h := hex.EncodeToString(sum[:])
	f.mu.Lock()
	f.blobs[h] = b
	f.mu.Unlock()
	return control.FileRef{SHA256: h, Size: int64(len(b)), Name: name, MediaType: mediaType}, nil
}

// Open returns the content of ref, verified against its hash.
func (f *Files) Open(_ context.Context, ref control.FileRef) (io.ReadCloser, error) {
	f.mu.Lock()
	b, ok := f.blobs[ref.SHA256]
	f.mu.Unlock()
	if !ok {
		return nil, mamori.Errorf(mamori.ENOTFOUND, "The file is not stored.")
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != ref.SHA256 || int64(len(b)) != ref.Size {
		return nil, mamori.Errorf(mamori.EINTERNAL, "The stored file does not match its hash.")
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// Count returns how many distinct files are stored.
func (f *Files) Count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.blobs)
}
