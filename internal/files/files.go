// Package files stores evidence and attachment files: addressed by the
// SHA-256 of their content, encrypted at rest, and checked against that
// hash whenever they are read.
//
// Each file is encrypted with its own Tink streaming AEAD key
// (AES256-GCM-HKDF, 1 MiB segments), so files of any size are encrypted
// and decrypted as streams; that key is sealed by the key-encryption key
// (envelope encryption, bound to the file's row) and kept in the database
// row that records the file, in the same transaction as the audit event
// that records its hash. The ciphertext lives under DATA_DIR/files, so
// large files never pass through a database transaction; backups copy the
// files that the database snapshot references.
package files

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/streamingaead"
	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
)

// Ref names a stored file. Later modules (assessment evidence, incident
// attachments) keep the SHA-256 and their own name and media type.
type Ref struct {
	SHA256    string // lowercase hex
	Size      int64
	Name      string
	MediaType string
}

// Stored is the database record of a file's content.
type Stored struct {
	SHA256    string
	Size      int64
	MediaType string
	Blob      string // the ciphertext file's name suffix
	Key       []byte // the file's streaming key, sealed
	CreatedAt time.Time
	CreatedBy string
}

// Store keeps the records of stored files.
type Store interface {
	// File returns the record of a content hash (ENOTFOUND if none).
	File(ctx context.Context, sha256 string) (*Stored, error)
	// AddFile records a file and its audit event in one transaction. If a
	// record of the same content exists, it is kept and added is false.
	AddFile(ctx context.Context, f *Stored, ev audit.Event) (added bool, err error)
}

// Sealer seals the per-file keys (envelope.Sealer).
type Sealer interface {
	Seal(plaintext []byte, table, column, row string) ([]byte, error)
	Open(ciphertext []byte, table, column, row string) ([]byte, error)
}

// Service stores and reads files.
type Service struct {
	root    string
	store   Store
	sealer  Sealer
	maxSize int64
}

// Dir is the directory of the file store inside the data directory.
const Dir = "files"

// New returns the file store rooted at root (DATA_DIR/files); files larger
// than maxSize bytes are refused.
func New(root string, store Store, sealer Sealer, maxSize int64) *Service {
	return &Service{root: root, store: store, sealer: sealer, maxSize: maxSize}
}

// Path is where the ciphertext of a file lives under root.
func Path(root, sha, blob string) string {
	return filepath.Join(root, sha[:2], sha+"."+blob)
}

// streamAAD binds the stream to its purpose; the per-file key binds it to
// the file.
var streamAAD = []byte("mamori/file/v1")

// ErrCorrupt says a stored file no longer matches its recorded SHA-256 (or
// its ciphertext no longer authenticates).
var ErrCorrupt = mamori.Errorf(mamori.EINTERNAL, "The stored file does not match its recorded SHA-256: it was changed or damaged.")

// Put stores the content of r and returns its reference. Storing the same
// content again returns the same reference (and records nothing new).
func (s *Service) Put(ctx context.Context, r io.Reader, name, mediaType string) (Ref, error) {
	a, err := mamori.Require(ctx, mamori.Authenticated)
	if err != nil {
		return Ref{}, err
	}
	name, mediaType = strings.TrimSpace(name), strings.TrimSpace(mediaType)
	if mediaType == "" {
		mediaType = "application/octet-stream"
	}
	if len(name) > 255 || len(mediaType) > 255 {
		return Ref{}, mamori.Invalid("name", "The file name is too long.")
	}
	h, err := keyset.NewHandle(streamingaead.AES256GCMHKDF1MBKeyTemplate())
	if err != nil {
		return Ref{}, fmt.Errorf("file key: %w", err)
	}
	sa, err := streamingaead.New(h)
	if err != nil {
		return Ref{}, fmt.Errorf("file key: %w", err)
	}
	tmpDir := filepath.Join(s.root, "tmp")
	if err := os.MkdirAll(tmpDir, 0o700); err != nil {
		return Ref{}, fmt.Errorf("file store: %w", err)
	}
	tmp, err := os.CreateTemp(tmpDir, "put-*")
	if err != nil {
		return Ref{}, fmt.Errorf("file store: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	sum, size, err := encrypt(sa, tmp, r, s.maxSize)
	if err != nil {
		return Ref{}, err
	}
	if err := tmp.Sync(); err != nil {
		return Ref{}, fmt.Errorf("file store: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return Ref{}, fmt.Errorf("file store: %w", err)
	}
	ref := Ref{SHA256: sum, Size: size, Name: name, MediaType: mediaType}
	if _, err := s.store.File(ctx, sum); err == nil {
		return ref, nil // the content is stored already
	} else if mamori.ErrorCode(err) != mamori.ENOTFOUND {
		return Ref{}, err
	}
	var kb bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewBinaryWriter(&kb)); err != nil {
		return Ref{}, fmt.Errorf("file key: %w", err)
	}
	sealed, err := s.sealer.Seal(kb.Bytes(), "files", "file_key", sum)
	if err != nil {
		return Ref{}, err
	}
	// Each store of a content gets its own ciphertext file, so concurrent
	// stores of the same content never overwrite each other's.
	blob := randomHex(8)
	path := Path(s.root, sum, blob)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return Ref{}, fmt.Errorf("file store: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return Ref{}, fmt.Errorf("file store: %w", err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		os.Remove(path)
		return Ref{}, fmt.Errorf("file store: %w", err)
	}
	ev := audit.New(ctx, audit.FileStored, "file", sum).With("size", size).With("media_type", mediaType)
	added, err := s.store.AddFile(ctx, &Stored{SHA256: sum, Size: size, MediaType: mediaType, Blob: blob, Key: sealed,
		CreatedAt: time.Now().UTC(), CreatedBy: a.ID()}, ev)
	if err != nil || !added {
		os.Remove(path)
	}
	if err != nil {
		return Ref{}, err
	}
	return ref, nil
}

// encrypt streams r through the encrypting writer into w, hashing the
// plaintext, and refuses more than max bytes.
func encrypt(sa tink.StreamingAEAD, w io.Writer, r io.Reader, max int64) (string, int64, error) {
	enc, err := sa.NewEncryptingWriter(w, streamAAD)
	if err != nil {
		return "", 0, fmt.Errorf("encrypt file: %w", err)
	}
	h := sha256.New()
	lim := r
	if max > 0 {
		lim = io.LimitReader(r, max+1)
	}
	n, err := io.Copy(io.MultiWriter(enc, h), lim)
	if err != nil {
		return "", 0, fmt.Errorf("read the file: %w", err)
	}
	if max > 0 && n > max {
		return "", 0, mamori.Errorf(mamori.EINVALID, "The file is larger than the limit of %d bytes.", max)
	}
	if err := enc.Close(); err != nil {
		return "", 0, fmt.Errorf("encrypt file: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// Open returns the content of a stored file. The whole file is decrypted
// and checked against its SHA-256 before the first byte is returned, and
// the reader checks it again at its end (a changed file returns ErrCorrupt
// instead of io.EOF).
func (s *Service) Open(ctx context.Context, ref Ref) (io.ReadCloser, error) {
	if _, err := mamori.Require(ctx, mamori.Authenticated); err != nil {
		return nil, err
	}
	st, sa, err := s.open(ctx, ref.SHA256)
	if err != nil {
		return nil, err
	}
	if err := s.check(st, sa); err != nil {
		return nil, err
	}
	f, err := os.Open(Path(s.root, st.SHA256, st.Blob))
	if err != nil {
		return nil, fmt.Errorf("open stored file: %w", err)
	}
	dr, err := sa.NewDecryptingReader(f, streamAAD)
	if err != nil {
		f.Close()
		return nil, ErrCorrupt
	}
	return &verifyingReader{r: dr, f: f, h: sha256.New(), want: st.SHA256, size: st.Size}, nil
}

// Verify checks that a stored file decrypts to content with its recorded
// SHA-256 and size.
func (s *Service) Verify(ctx context.Context, sha string) error {
	st, sa, err := s.open(ctx, sha)
	if err != nil {
		return err
	}
	return s.check(st, sa)
}

func (s *Service) open(ctx context.Context, sha string) (*Stored, tink.StreamingAEAD, error) {
	if !validSHA(sha) {
		return nil, nil, mamori.Invalid("sha256", "Give the SHA-256 of the file as 64 hexadecimal digits.")
	}
	st, err := s.store.File(ctx, sha)
	if err != nil {
		return nil, nil, err
	}
	sa, err := OpenKey(s.sealer, st)
	if err != nil {
		return nil, nil, err
	}
	return st, sa, nil
}

// OpenKey unseals a stored file's streaming key.
func OpenKey(sealer Sealer, st *Stored) (tink.StreamingAEAD, error) {
	kb, err := sealer.Open(st.Key, "files", "file_key", st.SHA256)
	if err != nil {
		return nil, fmt.Errorf("file key of %s: %w", st.SHA256, err)
	}
	h, err := insecurecleartextkeyset.Read(keyset.NewBinaryReader(bytes.NewReader(kb)))
	if err != nil {
		return nil, fmt.Errorf("file key of %s: %w", st.SHA256, err)
	}
	return streamingaead.New(h)
}

func (s *Service) check(st *Stored, sa tink.StreamingAEAD) error {
	f, err := os.Open(Path(s.root, st.SHA256, st.Blob))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return mamori.Errorf(mamori.EINTERNAL, "The stored file %s is missing from the file store.", st.SHA256)
		}
		return fmt.Errorf("open stored file: %w", err)
	}
	defer f.Close()
	return CheckContent(sa, f, st.SHA256, st.Size)
}

// CheckContent decrypts a ciphertext stream and compares the plaintext's
// SHA-256 and size with the recorded ones.
func CheckContent(sa tink.StreamingAEAD, r io.Reader, sha string, size int64) error {
	dr, err := sa.NewDecryptingReader(r, streamAAD)
	if err != nil {
		return ErrCorrupt
	}
	h := sha256.New()
	n, err := io.Copy(h, dr)
	if err != nil || n != size || hex.EncodeToString(h.Sum(nil)) != sha {
		return ErrCorrupt
	}
	return nil
}

type verifyingReader struct {
	r    io.Reader
	f    *os.File
	h    hash.Hash
	n    int64
	want string
	size int64
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if err == io.EOF {
		if v.n != v.size || hex.EncodeToString(v.h.Sum(nil)) != v.want {
			return n, ErrCorrupt
		}
	} else if err != nil {
		return n, ErrCorrupt
	}
	return n, err
}

func (v *verifyingReader) Close() error { return v.f.Close() }

// CleanTemp removes temporary files of stores that never finished (a crash
// between writing and recording), older than an hour.
func (s *Service) CleanTemp() error {
	dir := filepath.Join(s.root, "tmp")
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > time.Hour {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	return nil
}

func validSHA(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("files: random source failed: " + err.Error())
	}
	return hex.EncodeToString(b)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
