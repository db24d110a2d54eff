package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/streamingaead"
	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/files"
)

// Table names a table and its columns, in export order.
type Table struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
}

// Snapshot is a consistent read-only view of the whole database.
type Snapshot interface {
	Dialect() string
	SchemaVersion() int
	// Tables lists the tables in an order that satisfies foreign keys.
	Tables() []Table
	// Rows streams a table's rows as nil, string, int64, float64, bool,
	// []byte or time.Time values, in the order of its columns.
	Rows(ctx context.Context, table string, fn func([]any) error) error
}

// Source is the database a backup is taken from.
type Source interface {
	Snapshot(ctx context.Context, fn func(Snapshot) error) error
}

// Target is an empty database a backup is restored into.
type Target interface {
	// Restore migrates to version, runs fn in one transaction and then
	// migrates to the latest version; it refuses a database with rows.
	Restore(ctx context.Context, version int, fn func(Importer) error) error
}

// Importer writes tables in a restore.
type Importer interface {
	Table(name string, columns []string) (TableWriter, error)
}

// TableWriter writes the rows of one table.
type TableWriter interface {
	Write(ctx context.Context, row []any) error
	Close(ctx context.Context) (int64, error)
}

// Sealer is the key-encryption key, which seals each backup's key
// (envelope.Sealer).
type Sealer interface {
	Seal(plaintext []byte, table, column, row string) ([]byte, error)
	Open(ciphertext []byte, table, column, row string) ([]byte, error)
}

// CreateOptions are what a backup needs besides the database.
type CreateOptions struct {
	Sealer    Sealer
	Signer    *audit.Signer
	FilesRoot string // DATA_DIR/files of the source
	KeysDir   string // its signing.pub goes into the backup
	Version   string // mamori's version
	Now       mamori.Clock
}

// Result describes a backup file written.
type Result struct {
	Manifest *Manifest
	Size     int64
	SHA256   string // of the whole file
	Duration time.Duration
}

const cipherName = "tink:AES256_GCM_HKDF_1MB"

// hashCounter hashes and counts what passes through it.
type hashCounter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (c *hashCounter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

// Create writes a backup of src to w: one consistent snapshot of every
// table, the stored files it references and the public signing keys,
// encrypted with a fresh backup key and signed.
func Create(ctx context.Context, src Source, w io.Writer, o CreateOptions) (*Result, error) {
	start := time.Now()
	if o.Sealer == nil || o.Signer == nil {
		return nil, errors.New("backup: a key-encryption key and a signing key are needed")
	}
	now := o.Now
	if now == nil {
		now = mamori.SystemClock
	}
	id := mamori.NewID()
	h, err := keyset.NewHandle(streamingaead.AES256GCMHKDF1MBKeyTemplate())
	if err != nil {
		return nil, fmt.Errorf("backup key: %w", err)
	}
	sa, err := streamingaead.New(h)
	if err != nil {
		return nil, fmt.Errorf("backup key: %w", err)
	}
	var kb bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewBinaryWriter(&kb)); err != nil {
		return nil, fmt.Errorf("backup key: %w", err)
	}
	wrapped, err := o.Sealer.Seal(kb.Bytes(), "backup", "key", id)
	if err != nil {
		return nil, fmt.Errorf("seal the backup key: %w", err)
	}
	whole := &hashCounter{w: w, h: sha256.New()}
	body := &hashCounter{w: whole, h: sha256.New()}
	var man *Manifest
	err = src.Snapshot(ctx, func(s Snapshot) error {
		hdr := Header{Format: 1, ID: id, CreatedAt: now().UTC(), MamoriVersion: o.Version, Dialect: s.Dialect(),
			SchemaVersion: s.SchemaVersion(), Cipher: cipherName, Compression: "gzip", WrappedKey: wrapped}
		line, err := json.Marshal(hdr)
		if err != nil {
			return err
		}
		prefix := append(append([]byte(magic), line...), '\n')
		if _, err := body.Write(prefix); err != nil {
			return err
		}
		man, err = writeArchive(ctx, s, sa, prefix, body, hdr, o)
		return err
	})
	if err != nil {
		return nil, err
	}
	note, err := o.Signer.Sign(signedText(id, body.n, body.h.Sum(nil)))
	if err != nil {
		return nil, fmt.Errorf("sign the backup: %w", err)
	}
	foot := append(binary.BigEndian.AppendUint64(nil, uint64(len(note))), footerMagic...)
	if _, err := whole.Write(note); err != nil {
		return nil, err
	}
	if _, err := whole.Write(foot); err != nil {
		return nil, err
	}
	return &Result{Manifest: man, Size: whole.n, SHA256: hex.EncodeToString(whole.h.Sum(nil)), Duration: time.Since(start)}, nil
}

// archive writes tar entries, hashing each.
type archive struct {
	tw *tar.Writer
	at time.Time
}

func (a *archive) add(name string, size int64, r io.Reader) (Entry, error) {
	if err := a.tw.WriteHeader(&tar.Header{Name: name, Size: size, Mode: 0o600, ModTime: a.at, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return Entry{}, err
	}
	h := sha256.New()
	n, err := io.Copy(a.tw, io.TeeReader(r, h))
	if err != nil {
		return Entry{}, err
	}
	if n != size {
		return Entry{}, fmt.Errorf("%s changed while it was backed up", name)
	}
	return Entry{Name: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

func writeArchive(ctx context.Context, s Snapshot, sa tink.StreamingAEAD, aad []byte, w io.Writer, hdr Header, o CreateOptions) (*Manifest, error) {
	enc, err := sa.NewEncryptingWriter(w, aad)
	if err != nil {
		return nil, fmt.Errorf("encrypt the backup: %w", err)
	}
	zw, err := gzip.NewWriterLevel(enc, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	a := &archive{tw: tar.NewWriter(zw), at: hdr.CreatedAt}
	man := &Manifest{Format: 1, ID: hdr.ID, CreatedAt: hdr.CreatedAt, MamoriVersion: hdr.MamoriVersion, Dialect: hdr.Dialect,
		SchemaVersion: hdr.SchemaVersion}
	sb, err := json.Marshal(s.Tables())
	if err != nil {
		return nil, err
	}
	se, err := a.add(schemaEntry, int64(len(sb)), bytes.NewReader(sb))
	if err != nil {
		return nil, err
	}
	man.Others = append(man.Others, se)
	tree := audit.NewBuilder(nil)
	var latest struct {
		size int64
		note string
	}
	type stored struct{ sha, blob string }
	var stores []stored
	for _, t := range s.Tables() {
		te := TableEntry{Name: t.Name, Columns: t.Columns}
		var buf []byte
		flush := func() error {
			if len(buf) == 0 {
				return nil
			}
			e, err := a.add(fmt.Sprintf("db/%s/%06d.jsonl", t.Name, len(te.Parts)+1), int64(len(buf)), bytes.NewReader(buf))
			if err != nil {
				return err
			}
			te.Parts = append(te.Parts, e)
			buf = buf[:0]
			return nil
		}
		col := columnIndex(t.Columns)
		err := s.Rows(ctx, t.Name, func(row []any) error {
			var err error
			if buf, err = encodeRow(buf, row); err != nil {
				return fmt.Errorf("%s: %w", t.Name, err)
			}
			te.Rows++
			switch t.Name {
			case "audit_events":
				e, err := eventFromRow(col, row)
				if err != nil {
					return err
				}
				tree.Append(e.Leaf())
			case "audit_checkpoints":
				size, _ := row[col["tree_size"]].(int64)
				if note, ok := row[col["note"]].(string); ok && size >= latest.size {
					latest.size, latest.note = size, note
				}
			case "files":
				sha, _ := row[col["sha256"]].(string)
				blob, _ := row[col["blob"]].(string)
				stores = append(stores, stored{sha, blob})
			}
			if len(buf) >= partSize {
				return flush()
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if err := flush(); err != nil {
			return nil, err
		}
		man.Tables = append(man.Tables, te)
	}
	man.Audit = AuditSummary{Events: tree.Size(), Root: hex.EncodeToString(tree.Root()), Checkpoint: latest.note}
	for _, st := range stores {
		if err := validFileName(st.sha, st.blob); err != nil {
			return nil, err
		}
		f, err := os.Open(files.Path(o.FilesRoot, st.sha, st.blob))
		if err != nil {
			return nil, mamori.Wrap(mamori.EINTERNAL, err, fmt.Sprintf("The stored file %s is missing; the backup was not made.", st.sha))
		}
		fi, err := f.Stat()
		if err == nil {
			var e Entry
			e, err = a.add("files/"+st.sha+"."+st.blob, fi.Size(), f)
			man.Files = append(man.Files, FileEntry{SHA256: st.sha, Blob: st.blob, Entry: e})
		}
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	if o.KeysDir != "" {
		b, err := os.ReadFile(filepath.Join(o.KeysDir, audit.VerifierKeysFile))
		if err == nil {
			e, err := a.add("keys/"+audit.VerifierKeysFile, int64(len(b)), bytes.NewReader(b))
			if err != nil {
				return nil, err
			}
			man.Others = append(man.Others, e)
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	mb, err := json.MarshalIndent(man, "", " ")
	if err != nil {
		return nil, err
	}
	if _, err := a.add("manifest.json", int64(len(mb)), bytes.NewReader(mb)); err != nil {
		return nil, err
	}
	if err := a.tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encrypt the backup: %w", err)
	}
	return man, nil
}

func validFileName(sha, blob string) error {
	if len(sha) != 64 || blob == "" || len(blob) > 64 {
		return fmt.Errorf("a files row has a malformed name %q.%q", sha, blob)
	}
	for _, r := range sha + blob {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return fmt.Errorf("a files row has a malformed name %q.%q", sha, blob)
		}
	}
	return nil
}

func columnIndex(cols []string) map[string]int {
	m := make(map[string]int, len(cols))
	for i, c := range cols {
		m[c] = i
	}
	return m
}

// eventFromRow rebuilds a stored audit event from an exported row.
func eventFromRow(col map[string]int, row []any) (*audit.StoredEvent, error) {
	get := func(name string) any {
		if i, ok := col[name]; ok && i < len(row) {
			return row[i]
		}
		return nil
	}
	str := func(name string) string {
		switch v := get(name).(type) {
		case string:
			return v
		case []byte:
			return string(v)
		}
		return ""
	}
	e := &audit.StoredEvent{}
	seq, ok := get("seq").(int64)
	if !ok {
		return nil, errors.New("audit_events: a row has no seq")
	}
	e.Seq = seq
	switch t := get("at").(type) {
	case time.Time:
		e.Time = t.UTC()
	case string:
		tt, err := time.Parse(audit.TimeLayout, t)
		if err != nil {
			tt, err = time.Parse(time.RFC3339Nano, t)
		}
		if err != nil {
			return nil, fmt.Errorf("audit_events seq %d: bad time %q", seq, t)
		}
		e.Time = tt.UTC()
	default:
		return nil, fmt.Errorf("audit_events seq %d: no time", seq)
	}
	e.ID, e.Type, e.Code = str("id"), audit.Type(str("type")), str("code")
	e.ActorID, e.RemoteAddr, e.RequestID = str("actor_id"), str("remote_addr"), str("request_id")
	e.TargetType, e.TargetID, e.Outcome = str("target_type"), str("target_id"), audit.Outcome(str("outcome"))
	e.DetailsText = str("details")
	e.LeafHash, _ = get("leaf_hash").([]byte)
	return e, nil
}

// CreateFile writes a backup to path atomically (a temporary file beside
// it, fsync, rename, fsync of the directory), mode 0600.
func CreateFile(ctx context.Context, src Source, path string, o CreateOptions) (*Result, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, mamori.Wrap(mamori.EINVALID, err, "Cannot create the backup directory "+dir+".")
	}
	f, err := os.CreateTemp(dir, ".backup-*")
	if err != nil {
		return nil, mamori.Wrap(mamori.EINVALID, err, "Cannot write to the backup directory "+dir+".")
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	res, err := Create(ctx, src, f, o)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return res, nil
}
