package audit

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/mamori-dev/mamori"
)

// Checkpoint is a signed tree head in the C2SP tlog-checkpoint format
// (https://c2sp.org/tlog-checkpoint): a signed note (https://c2sp.org/signed-note)
// whose text is the origin, the tree size, the base64 root hash and one
// extension line with the signing time:
//
//	mamori.example.co.jp/audit
//	1234
//	0Bq1…=
//	time 2026-04-01T09:00:00Z
//
//	— mamori.example.co.jp/audit AbCd…=
//
// Anyone holding the public verifier key can check it with any signed-note
// implementation (Go's golang.org/x/mod/sumdb/note, transparency-dev tools).
type Checkpoint struct {
	Origin  string
	Size    uint64
	Root    []byte
	Time    time.Time
	KeyName string
	KeyHash uint32
	// Note is the complete signed note, as published.
	Note string
}

// KeyID is the signing key as "name+hash", the prefix of its verifier key.
func (c *Checkpoint) KeyID() string { return fmt.Sprintf("%s+%08x", c.KeyName, c.KeyHash) }

const checkpointTimeLayout = "2006-01-02T15:04:05Z"

func checkpointText(origin string, size uint64, root []byte, at time.Time) string {
	return fmt.Sprintf("%s\n%d\n%s\ntime %s\n", origin, size, base64.StdEncoding.EncodeToString(root),
		at.UTC().Format(checkpointTimeLayout))
}

// ErrCheckpoint says a checkpoint is malformed or its signature is not valid
// for any trusted key.
var ErrCheckpoint = errors.New("audit: checkpoint is malformed or not signed by a trusted key")

// ParseCheckpoint parses a signed checkpoint and checks its signature
// against the trusted verifiers. Extension lines other than "time" are
// ignored, as the format asks.
func ParseCheckpoint(msg []byte, trusted *Verifiers) (*Checkpoint, error) {
	if trusted == nil || len(trusted.list) == 0 {
		return nil, fmt.Errorf("%w: no trusted verifier key", ErrCheckpoint)
	}
	n, err := note.Open(msg, trusted.notes)
	if err != nil {
		var inv *note.InvalidSignatureError
		if errors.As(err, &inv) {
			return nil, fmt.Errorf("%w: the signature of key %s+%08x does not match (the checkpoint was changed)", ErrCheckpoint, inv.Name, inv.Hash)
		}
		var unv *note.UnverifiedNoteError
		if errors.As(err, &unv) {
			return nil, fmt.Errorf("%w: signed by an unknown key", ErrCheckpoint)
		}
		return nil, fmt.Errorf("%w: %v", ErrCheckpoint, err)
	}
	cp, err := parseCheckpointText(n.Text)
	if err != nil {
		return nil, err
	}
	cp.KeyName, cp.KeyHash = n.Sigs[0].Name, n.Sigs[0].Hash
	cp.Note = string(msg)
	return cp, nil
}

func parseCheckpointText(text string) (*Checkpoint, error) {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return nil, fmt.Errorf("%w: fewer than three lines", ErrCheckpoint)
	}
	cp := &Checkpoint{Origin: lines[0]}
	if cp.Origin == "" {
		return nil, fmt.Errorf("%w: empty origin", ErrCheckpoint)
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil || (len(lines[1]) > 1 && lines[1][0] == '0') {
		return nil, fmt.Errorf("%w: tree size %q is not a decimal number", ErrCheckpoint, lines[1])
	}
	cp.Size = size
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != Hasher.Size() {
		return nil, fmt.Errorf("%w: root hash is not base64 of %d bytes", ErrCheckpoint, Hasher.Size())
	}
	cp.Root = root
	for _, l := range lines[3:] {
		if v, ok := strings.CutPrefix(l, "time "); ok {
			t, err := time.Parse(checkpointTimeLayout, v)
			if err != nil {
				return nil, fmt.Errorf("%w: time %q is not RFC 3339 UTC", ErrCheckpoint, v)
			}
			cp.Time = t
		}
	}
	return cp, nil
}

// Signer signs checkpoints (and backups) with mamori's Ed25519 key, in the
// signed-note format.
type Signer struct {
	s    note.Signer
	vkey string
}

// Name is the key's name: the origin of the checkpoints it signs.
func (s *Signer) Name() string { return s.s.Name() }

// VerifierKey is the public key in signed-note form ("name+hash+key"):
// give it to auditors, publish it, print it in the disaster-recovery file.
func (s *Signer) VerifierKey() string { return s.vkey }

// Sign returns the signed note of text (which must end in a newline).
func (s *Signer) Sign(text string) ([]byte, error) {
	return note.Sign(&note.Note{Text: text}, s.s)
}

// SignCheckpoint signs the tree head of size leaves with root at time at.
func (s *Signer) SignCheckpoint(size uint64, root []byte, at time.Time) (*Checkpoint, error) {
	at = at.UTC().Truncate(time.Second)
	msg, err := s.Sign(checkpointText(s.s.Name(), size, root, at))
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint: %w", err)
	}
	return &Checkpoint{Origin: s.s.Name(), Size: size, Root: root, Time: at, KeyName: s.s.Name(),
		KeyHash: s.s.KeyHash(), Note: string(msg)}, nil
}

// OriginFor derives the checkpoint origin (and key name) from mamori's
// external URL: its host and port, then "/audit".
func OriginFor(baseURL string) string {
	host := "mamori"
	if u, err := url.Parse(baseURL); err == nil && u.Host != "" {
		host = u.Host
	}
	return strings.Map(func(r rune) rune {
		if r == '+' || r <= ' ' {
			return '-'
		}
		return r
	}, host) + "/audit"
}

// Key files in the keys directory.
const (
	SigningKeyFile   = "signing.key" // private, mode 0600
	VerifierKeysFile = "signing.pub" // public verifier keys, one a line (current and earlier)
)

// LoadOrCreateSigner opens the signing key in dir, creating it on first use
// with the given name (mode 0600, in a 0700 directory). Its verifier key is
// appended to signing.pub, which keeps every key this installation ever
// used, so checkpoints signed before a new key stay verifiable.
func LoadOrCreateSigner(dir, name string) (*Signer, error) {
	path := filepath.Join(dir, SigningKeyFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		fi, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return nil, mamori.Errorf(mamori.EINVALID, "%s is readable by other users (mode %04o); run chmod 600 on it", path, fi.Mode().Perm())
		}
	case errors.Is(err, os.ErrNotExist):
		skey, _, gerr := note.GenerateKey(rand.Reader, name)
		if gerr != nil {
			return nil, fmt.Errorf("generate signing key: %w", gerr)
		}
		if err := writeFileAtomic(path, []byte(skey+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("write signing key: %w", err)
		}
		b = []byte(skey)
	default:
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	skey := strings.TrimSpace(string(b))
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, mamori.Errorf(mamori.EINVALID, "%s is not a signed-note private key: %v", path, err)
	}
	vkey, err := verifierFromSigner(skey)
	if err != nil {
		return nil, err
	}
	if err := addVerifierKey(filepath.Join(dir, VerifierKeysFile), vkey); err != nil {
		return nil, err
	}
	return &Signer{s: s, vkey: vkey}, nil
}

// verifierFromSigner derives "name+hash+pubkey" from "PRIVATE+KEY+name+hash+seed".
func verifierFromSigner(skey string) (string, error) {
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 {
		return "", errors.New("malformed signing key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 33 || raw[0] != 1 {
		return "", errors.New("malformed signing key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(parts[2], pub)
}

// addVerifierKey appends vkey to the list unless it is there already.
func addVerifierKey(path, vkey string) error {
	keys, err := readVerifierLines(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for _, k := range keys {
		if k == vkey {
			return nil
		}
	}
	keys = append(keys, vkey)
	return writeFileAtomic(path, []byte(strings.Join(keys, "\n")+"\n"), 0o644)
}

func readVerifierLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}

// Verifiers is a set of trusted public keys.
type Verifiers struct {
	list  []string
	notes note.Verifiers
}

// NewVerifiers parses verifier keys ("name+hash+key").
func NewVerifiers(vkeys ...string) (*Verifiers, error) {
	v := &Verifiers{}
	var nv []note.Verifier
	seen := map[string]bool{}
	for _, k := range vkeys {
		k = strings.TrimSpace(k)
		if k == "" || seen[k] {
			continue
		}
		seen[k] = true
		x, err := note.NewVerifier(k)
		if err != nil {
			return nil, mamori.Errorf(mamori.EINVALID, "%q is not a verifier key (name+hash+key): %v", k, err)
		}
		nv = append(nv, x)
		v.list = append(v.list, k)
	}
	v.notes = note.VerifierList(nv...)
	return v, nil
}

// LoadVerifiers reads the trusted keys of the keys directory (signing.pub).
func LoadVerifiers(dir string) (*Verifiers, error) {
	keys, err := readVerifierLines(filepath.Join(dir, VerifierKeysFile))
	if err != nil {
		return nil, err
	}
	return NewVerifiers(keys...)
}

// Keys returns the verifier keys.
func (v *Verifiers) Keys() []string { return append([]string(nil), v.list...) }

// Add adds keys to the set.
func (v *Verifiers) Add(vkeys ...string) error {
	n, err := NewVerifiers(append(v.Keys(), vkeys...)...)
	if err != nil {
		return err
	}
	*v = *n
	return nil
}

// OpenNote checks a signed note (a backup's signature, say) and returns its text.
func (v *Verifiers) OpenNote(msg []byte) (text string, keyID string, err error) {
	n, err := note.Open(msg, v.notes)
	if err != nil {
		return "", "", err
	}
	return n.Text, fmt.Sprintf("%s+%08x", n.Sigs[0].Name, n.Sigs[0].Hash), nil
}

// writeFileAtomic writes a file so that a crash leaves the old or the new
// content: a temporary file, fsync, rename, fsync of the directory.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
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
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// SaveVerifiers writes the trusted keys to the keys directory's signing.pub.
func SaveVerifiers(dir string, v *Verifiers) error {
	return writeFileAtomic(filepath.Join(dir, VerifierKeysFile), []byte(strings.Join(v.Keys(), "\n")+"\n"), 0o644)
}
