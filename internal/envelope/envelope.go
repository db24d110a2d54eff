// Package envelope encrypts mamori's sensitive fields with envelope
// encryption (Tink): every value gets a fresh data-encryption key (DEK), the
// DEK is wrapped by a key-encryption key (KEK), and the ciphertext is bound
// to its table, column and row through the associated data, so it cannot be
// copied to another row or column. The KEK is a local Tink keyset file
// (created at first start, mode 0600) or any KMS behind the KEK interface.
package envelope

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/mamori-dev/mamori"
)

// KEK wraps and unwraps data keys. A cloud KMS implements it by calling the
// KMS; the local implementation uses a Tink keyset file.
type KEK interface {
	tink.AEAD
	// IsPrimary reports whether wrapped was produced by the current primary
	// key, i.e. whether rewrapping it would change nothing.
	IsPrimary(wrapped []byte) bool
}

// version is the first byte of every mamori ciphertext, so the format can
// change without guessing.
const version byte = 1

// Sealer seals and opens field values.
type Sealer struct {
	mu  sync.RWMutex
	kek KEK
	env tink.AEAD
	// reload re-reads the KEK (after `mamori keys rotate` in another
	// process); nil for KEKs that never change underneath.
	reload func() (KEK, error)
	// changed reports whether the KEK's source changed since it was read
	// (the keyset file of a local KEK); checked at most once a second.
	changed   func() bool
	lastCheck time.Time
}

// New returns a Sealer over kek.
func New(kek KEK) *Sealer {
	s := &Sealer{}
	s.set(kek)
	return s
}

func (s *Sealer) set(kek KEK) {
	s.kek = kek
	s.env = aead.NewKMSEnvelopeAEAD2(aead.AES256GCMKeyTemplate(), kek)
}

// AAD returns the associated data binding a value to its place.
func AAD(table, column, row string) []byte {
	var b bytes.Buffer
	b.WriteString("mamori/v1")
	for _, s := range []string{table, column, row} {
		b.WriteByte(0)
		b.WriteString(s)
	}
	return b.Bytes()
}

// Seal encrypts plaintext for table.column of row, under the primary key
// of the KEK. A keyset rotated by another process (`mamori keys rotate`
// while the server runs) is picked up within a second, so new values are
// sealed under the new primary key and the rotation's re-wrap completes.
func (s *Sealer) Seal(plaintext []byte, table, column, row string) ([]byte, error) {
	s.reloadIfChanged()
	s.mu.RLock()
	env := s.env
	s.mu.RUnlock()
	ct, err := env.Encrypt(plaintext, AAD(table, column, row))
	if err != nil {
		return nil, fmt.Errorf("seal %s.%s: %w", table, column, err)
	}
	return append([]byte{version}, ct...), nil
}

// ErrOpen is returned when a value cannot be decrypted: wrong place, wrong
// key, or tampered ciphertext.
var ErrOpen = errors.New("envelope: value cannot be decrypted (wrong row or column, unknown key, or tampered)")

// Open decrypts a value sealed for table.column of row.
func (s *Sealer) Open(ciphertext []byte, table, column, row string) ([]byte, error) {
	if len(ciphertext) < 2 || ciphertext[0] != version {
		return nil, ErrOpen
	}
	s.mu.RLock()
	env := s.env
	s.mu.RUnlock()
	pt, err := env.Decrypt(ciphertext[1:], AAD(table, column, row))
	if err == nil {
		return pt, nil
	}
	// The keyset may have been rotated by another process: reload once.
	if s.reload != nil {
		if kek, rerr := s.reload(); rerr == nil {
			s.mu.Lock()
			s.set(kek)
			env = s.env
			s.mu.Unlock()
			if pt, err = env.Decrypt(ciphertext[1:], AAD(table, column, row)); err == nil {
				return pt, nil
			}
		}
	}
	return nil, ErrOpen
}

func (s *Sealer) reloadIfChanged() {
	if s.changed == nil {
		return
	}
	s.mu.Lock()
	due := time.Since(s.lastCheck) >= time.Second
	if due {
		s.lastCheck = time.Now()
	}
	s.mu.Unlock()
	if due && s.changed() {
		_ = s.Reload()
	}
}

// UnderPrimary reports whether a sealed value's data key is wrapped by the
// KEK's primary key (false for values that are not mamori ciphertexts).
func (s *Sealer) UnderPrimary(ciphertext []byte) bool {
	wrapped, _, ok := split(ciphertext)
	if !ok {
		return false
	}
	s.mu.RLock()
	kek := s.kek
	s.mu.RUnlock()
	return kek.IsPrimary(wrapped)
}

// split parses version || len(wrapped DEK) || wrapped DEK || payload, the
// format of Tink's KMS envelope AEAD behind a version byte.
func split(ciphertext []byte) (wrapped, payload []byte, ok bool) {
	if len(ciphertext) < 6 || ciphertext[0] != version {
		return nil, nil, false
	}
	body := ciphertext[1:]
	n := int(binary.BigEndian.Uint32(body[:4]))
	if n <= 0 || n > len(body)-4 {
		return nil, nil, false
	}
	return body[4 : 4+n], body[4+n:], true
}

// Rewrap re-encrypts the data key of ciphertext under the KEK's primary key,
// leaving the encrypted value itself untouched. It reports false when the
// data key already is under the primary key.
func (s *Sealer) Rewrap(ciphertext []byte) ([]byte, bool, error) {
	wrapped, payload, ok := split(ciphertext)
	if !ok {
		return nil, false, ErrOpen
	}
	s.mu.RLock()
	kek := s.kek
	s.mu.RUnlock()
	if kek.IsPrimary(wrapped) {
		return ciphertext, false, nil
	}
	dek, err := kek.Decrypt(wrapped, []byte{})
	if err != nil {
		return nil, false, ErrOpen
	}
	rewrapped, err := kek.Encrypt(dek, []byte{})
	if err != nil {
		return nil, false, fmt.Errorf("rewrap: %w", err)
	}
	out := make([]byte, 0, 1+4+len(rewrapped)+len(payload))
	out = append(out, version)
	out = binary.BigEndian.AppendUint32(out, uint32(len(rewrapped)))
	out = append(out, rewrapped...)
	out = append(out, payload...)
	return out, true, nil
}

// localKEK is a KEK from a Tink keyset held in a local file.
type localKEK struct {
	tink.AEAD
	primaryPrefix []byte
}

func (k *localKEK) IsPrimary(wrapped []byte) bool { return bytes.HasPrefix(wrapped, k.primaryPrefix) }

func newLocalKEK(h *keyset.Handle) (*localKEK, error) {
	a, err := aead.New(h)
	if err != nil {
		return nil, fmt.Errorf("keyset primitive: %w", err)
	}
	// Tink-prefixed ciphertexts start with 0x01 and the 4-byte key ID.
	prefix := binary.BigEndian.AppendUint32([]byte{1}, h.KeysetInfo().GetPrimaryKeyId())
	return &localKEK{AEAD: a, primaryPrefix: prefix}, nil
}

// OpenLocal opens the keyset file at path, creating it (mode 0600, in a 0700
// directory) if it does not exist. A keyset file readable by others is
// refused: the KEK protects every sensitive field.
func OpenLocal(path string) (*Sealer, error) {
	h, err := loadOrCreate(path)
	if err != nil {
		return nil, err
	}
	kek, err := newLocalKEK(h)
	if err != nil {
		return nil, err
	}
	s := New(kek)
	stamp := fileStamp(path)
	var stampMu sync.Mutex
	s.reload = func() (KEK, error) {
		st := fileStamp(path)
		h, err := load(path)
		if err != nil {
			return nil, err
		}
		stampMu.Lock()
		stamp = st
		stampMu.Unlock()
		return newLocalKEK(h)
	}
	s.changed = func() bool {
		stampMu.Lock()
		defer stampMu.Unlock()
		return fileStamp(path) != stamp
	}
	return s, nil
}

// fileStamp identifies a version of a file: its modification time and size.
func fileStamp(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%d/%d", fi.ModTime().UnixNano(), fi.Size())
}

// LoadLocal opens an existing keyset file (never creating one): restoring a
// backup needs the keyset it was made with, not a new one.
func LoadLocal(path string) (*Sealer, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, mamori.Wrap(mamori.EINVALID, err, "keys.keyset_file: "+path+" cannot be read")
	}
	return OpenLocal(path)
}

func loadOrCreate(path string) (*keyset.Handle, error) {
	h, err := load(path)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return h, err
	}
	h, err = keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return nil, fmt.Errorf("create keyset: %w", err)
	}
	if err := save(path, h); err != nil {
		return nil, err
	}
	return h, nil
}

func load(path string) (*keyset.Handle, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, mamori.Errorf(mamori.EINVALID, "keys.keyset_file: %s is readable by other users (mode %04o); run chmod 600 on it", path, fi.Mode().Perm())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(f))
	if err != nil {
		return nil, mamori.Wrap(mamori.EINVALID, err, "keys.keyset_file: "+path+" is not a valid Tink keyset")
	}
	return h, nil
}

// save writes the keyset atomically: a temporary file, fsync, rename, and
// fsync of the directory, so a crash leaves either the old or the new keyset.
func save(path string, h *keyset.Handle) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create key directory: %w", err)
	}
	f, err := os.CreateTemp(dir, ".kek-*.json")
	if err != nil {
		return fmt.Errorf("write keyset: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(f)); err != nil {
		f.Close()
		return fmt.Errorf("write keyset: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// RotateLocal adds a new key to the keyset file and makes it primary. Old
// keys stay, so every existing value remains readable; Rewrap then moves data
// keys to the new primary. It returns the new key's ID.
func RotateLocal(path string) (uint32, error) {
	h, err := load(path)
	if err != nil {
		return 0, err
	}
	m := keyset.NewManagerFromHandle(h)
	id, err := m.Add(aead.AES256GCMKeyTemplate())
	if err != nil {
		return 0, fmt.Errorf("add key: %w", err)
	}
	if err := m.SetPrimary(id); err != nil {
		return 0, fmt.Errorf("set primary: %w", err)
	}
	nh, err := m.Handle()
	if err != nil {
		return 0, err
	}
	if err := save(path, nh); err != nil {
		return 0, err
	}
	return id, nil
}

// KeyInfo describes one key of the local keyset.
type KeyInfo struct {
	ID      uint32
	Primary bool
	Status  string
}

// LocalKeys lists the keys of the keyset file.
func LocalKeys(path string) ([]KeyInfo, error) {
	h, err := load(path)
	if err != nil {
		return nil, err
	}
	info := h.KeysetInfo()
	var out []KeyInfo
	for _, k := range info.GetKeyInfo() {
		out = append(out, KeyInfo{ID: k.GetKeyId(), Primary: k.GetKeyId() == info.GetPrimaryKeyId(), Status: k.GetStatus().String()})
	}
	return out, nil
}

// Reload re-reads the KEK now (after a rotation).
func (s *Sealer) Reload() error {
	if s.reload == nil {
		return nil
	}
	kek, err := s.reload()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.set(kek)
	s.mu.Unlock()
	return nil
}
