package backup

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/streamingaead"

	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/files"
)

// Report is what a verification (or a restore) found.
type Report struct {
	File     string
	Size     int64
	SHA256   string // of the whole file
	Header   *Header
	SignedBy string
	Manifest *Manifest
	// ContentChecked says the archive was decrypted and every entry
	// checked against the manifest (it needs the key-encryption key).
	ContentChecked bool
	Rows           int64
	Files          int
	Audit          *audit.Report
	Problems       []string
	Duration       time.Duration
}

// OK reports whether nothing is wrong.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// VerifyOptions are the keys a verification uses.
type VerifyOptions struct {
	// Sealer is the key-encryption key. Without it only the signature and
	// the file's integrity are checked, not the content.
	Sealer Sealer
	// Trusted are the keys trusted to sign backups and checkpoints.
	Trusted *audit.Verifiers
}

// opened is a backup file whose signature and integrity are checked.
type opened struct {
	f      *os.File
	lay    *layout
	hdr    *Header
	prefix []byte
}

// open checks the signature and the SHA-256 of the whole body, recording
// problems in rep; it returns nil when the file cannot be trusted at all.
func open(path string, trusted *audit.Verifiers, rep *Report) (*opened, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	rep.File, rep.Size = path, fi.Size()
	lay, err := readLayout(f, fi.Size())
	if err != nil {
		whole := sha256.New()
		if _, err := io.Copy(whole, io.NewSectionReader(f, 0, fi.Size())); err == nil {
			rep.SHA256 = hex.EncodeToString(whole.Sum(nil))
		}
		rep.problem("the file is not a mamori backup, or its end (signature) is damaged")
		f.Close()
		return nil, nil
	}
	// One pass hashes the body (signed) and the whole file (recorded).
	whole, body := sha256.New(), sha256.New()
	if _, err := io.Copy(io.MultiWriter(whole, body), io.NewSectionReader(f, 0, lay.bodySize)); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := io.Copy(whole, io.NewSectionReader(f, lay.bodySize, fi.Size()-lay.bodySize)); err != nil {
		f.Close()
		return nil, err
	}
	rep.SHA256 = hex.EncodeToString(whole.Sum(nil))
	o := &opened{f: f, lay: lay}
	br := bufio.NewReader(io.NewSectionReader(f, 0, lay.bodySize))
	if o.hdr, o.prefix, err = readHeader(br); err != nil {
		rep.problem("the start of the backup (its header) is damaged: %v", err)
	}
	rep.Header = o.hdr
	if trusted == nil {
		trusted, _ = audit.NewVerifiers()
	}
	text, keyID, err := trusted.OpenNote(lay.note)
	if err != nil {
		rep.problem("the signature cannot be verified with a trusted key (%v): the backup was changed, or was made by another installation", err)
		return o, nil
	}
	rep.SignedBy = keyID
	id, size, sum, err := parseSigned(text)
	if err != nil {
		rep.problem("%v", err)
		return o, nil
	}
	if size != lay.bodySize {
		rep.problem("the backup was cut or extended: the signature covers %d bytes, the file has %d before its signature", size, lay.bodySize)
	}
	if o.hdr != nil && id != o.hdr.ID {
		rep.problem("the header was changed: it names backup %s, the signature backup %s", o.hdr.ID, id)
	}
	if got := body.Sum(nil); !bytes.Equal(got, sum) {
		rep.problem("the backup was changed or damaged: its content has SHA-256 %s, but the signed SHA-256 is %s", hex.EncodeToString(got), hex.EncodeToString(sum))
	}
	return o, nil
}

func (o *opened) Close() error { return o.f.Close() }

// countingReader counts the bytes read through it, to say where damage is.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// walk decrypts the archive and calls visit for every entry but the
// manifest; it hashes each entry and, at the end, checks them all against
// the manifest. visit need not read an entry to its end.
func (o *opened) walk(ctx context.Context, sealer Sealer, visit func(name string, r io.Reader) error) (*Manifest, error) {
	if o.hdr == nil {
		return nil, errors.New("the header is damaged")
	}
	kb, err := sealer.Open(o.hdr.WrappedKey, "backup", "key", o.hdr.ID)
	if err != nil {
		return nil, fmt.Errorf("the backup key cannot be unsealed with this key-encryption key (%v): the keyset is not the one the backup was made with, or the header was changed", err)
	}
	h, err := insecurecleartextkeyset.Read(keyset.NewBinaryReader(bytes.NewReader(kb)))
	if err != nil {
		return nil, fmt.Errorf("the backup key is malformed: %w", err)
	}
	sa, err := streamingaead.New(h)
	if err != nil {
		return nil, err
	}
	start := int64(len(o.prefix))
	cr := &countingReader{r: io.NewSectionReader(o.f, start, o.lay.bodySize-start)}
	damaged := func(err error) error {
		return fmt.Errorf("the encrypted content fails authentication in the segment that ends near byte %d of the file (%v): it was changed or damaged", start+cr.n, err)
	}
	dr, err := sa.NewDecryptingReader(cr, o.prefix)
	if err != nil {
		return nil, damaged(err)
	}
	zr, err := gzip.NewReader(dr)
	if err != nil {
		return nil, damaged(err)
	}
	tr := tar.NewReader(zr)
	seen := map[string]Entry{}
	var man *Manifest
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		th, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, damaged(err)
		}
		name := th.Name
		if th.Typeflag != tar.TypeReg || !validEntryName(name) {
			return nil, fmt.Errorf("the archive has an unexpected entry %q", name)
		}
		if _, dup := seen[name]; dup {
			return nil, fmt.Errorf("the archive has the entry %q twice", name)
		}
		if man != nil {
			return nil, fmt.Errorf("the archive has an entry %q after its manifest", name)
		}
		hs := sha256.New()
		cr2 := &countingReader{r: io.TeeReader(tr, hs)}
		if name == "manifest.json" {
			b, err := io.ReadAll(io.LimitReader(cr2, 256<<20))
			if err != nil {
				return nil, damaged(err)
			}
			man = &Manifest{}
			if err := json.Unmarshal(b, man); err != nil {
				return nil, fmt.Errorf("the manifest is malformed: %w", err)
			}
		} else if err := visit(name, cr2); err != nil {
			return nil, err
		}
		if _, err := io.Copy(io.Discard, cr2); err != nil {
			return nil, damaged(err)
		}
		seen[name] = Entry{Name: name, Size: cr2.n, SHA256: hex.EncodeToString(hs.Sum(nil))}
	}
	if man == nil {
		return nil, errors.New("the archive has no manifest: it was cut short")
	}
	if man.ID != o.hdr.ID {
		return nil, fmt.Errorf("the manifest is of backup %s, the header of %s", man.ID, o.hdr.ID)
	}
	want := map[string]Entry{}
	for _, t := range man.Tables {
		for _, p := range t.Parts {
			want[p.Name] = p
		}
	}
	for _, f := range man.Files {
		want[f.Entry.Name] = f.Entry
	}
	for _, e := range man.Others {
		want[e.Name] = e
	}
	delete(seen, "manifest.json")
	var names []string
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w, got := want[n], seen[n]
		if _, ok := seen[n]; !ok {
			return nil, fmt.Errorf("%s is listed in the manifest but missing", n)
		}
		if w.Size != got.Size || w.SHA256 != got.SHA256 {
			return nil, fmt.Errorf("%s does not match the manifest (SHA-256 %s, want %s)", n, got.SHA256, w.SHA256)
		}
		delete(seen, n)
	}
	for n := range seen {
		return nil, fmt.Errorf("%s is in the archive but not in the manifest", n)
	}
	return man, nil
}

func validEntryName(name string) bool {
	if name == "manifest.json" {
		return true
	}
	if path.Clean(name) != name || strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
		return false
	}
	dir, _, _ := strings.Cut(name, "/")
	return dir == "db" || dir == "files" || dir == "keys"
}

// tableOf returns the table of a part name db/<table>/NNNNNN.jsonl.
func tableOf(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "db/")
	if !ok {
		return "", false
	}
	t, part, ok := strings.Cut(rest, "/")
	return t, ok && strings.HasSuffix(part, ".jsonl") && t != ""
}

// rowsOf streams the rows of a table part.
func rowsOf(r io.Reader, columns int, fn func([]any) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := readLine(br, partSize+1)
		if err == io.EOF && len(line) == 0 {
			return nil
		}
		if err != nil && err != io.EOF {
			return err
		}
		row, derr := decodeRow(line, columns)
		if derr != nil {
			return derr
		}
		if err := fn(row); err != nil {
			return err
		}
		if err == io.EOF {
			return nil
		}
	}
}

// trailCheck verifies an audit trail as it streams out of an archive,
// with the checkpoints found before it.
type trailCheck struct {
	ch      chan *audit.StoredEvent
	done    chan struct{}
	rep     *audit.Report
	err     error
	started bool
}

type chanTrail struct{ ch chan *audit.StoredEvent }

func (c chanTrail) ScanAuditEvents(_ context.Context, _, _ uint64, fn func(*audit.StoredEvent) error) error {
	var ferr error
	for e := range c.ch {
		if ferr == nil {
			ferr = fn(e)
		}
	}
	return ferr
}

func (t *trailCheck) start(ctx context.Context, trusted *audit.Verifiers, cps []audit.SourcedCheckpoint) {
	if t.started {
		return
	}
	t.started = true
	t.ch, t.done = make(chan *audit.StoredEvent, 1024), make(chan struct{})
	go func() {
		defer close(t.done)
		t.rep, t.err = audit.Verify(ctx, chanTrail{t.ch}, nil, trusted, cps)
	}()
}

func (t *trailCheck) finish() (*audit.Report, error) {
	close(t.ch)
	<-t.done
	return t.rep, t.err
}

// reader reads tables and files out of an archive, for verification and
// restores alike.
type reader struct {
	ctx      context.Context
	trusted  *audit.Verifiers
	sealer   Sealer
	columns  map[string][]string // from db/schema.json, the first entry
	cps      []audit.SourcedCheckpoint
	trail    trailCheck
	fileKeys map[string]fileRow
	rows     map[string]int64
	files    int
}

type fileRow struct {
	size int64
	key  []byte
}

// Verify checks a backup without restoring it: the signature and SHA-256
// of the whole file, then (with the key-encryption key) every entry against
// the manifest, every row, every stored file against its SHA-256, and the
// audit trail in it against its signed checkpoints. Damage is reported in
// the report's problems, never as an error.
func Verify(ctx context.Context, path string, o VerifyOptions) (*Report, error) {
	start := time.Now()
	rep := &Report{}
	op, err := open(path, o.Trusted, rep)
	if err != nil {
		return nil, err
	}
	if op == nil {
		rep.Duration = time.Since(start)
		return rep, nil
	}
	defer op.Close()
	// A damaged file is still decrypted, to say where the damage is.
	if o.Sealer == nil || op.hdr == nil {
		rep.Duration = time.Since(start)
		return rep, nil
	}
	rd := newReader(ctx, o.Trusted, o.Sealer)
	man, err := op.walk(ctx, o.Sealer, func(name string, r io.Reader) error { return rd.entry(name, r, nil) })
	rd.check(rep, man, err)
	rep.Duration = time.Since(start)
	return rep, nil
}

func newReader(ctx context.Context, trusted *audit.Verifiers, sealer Sealer) *reader {
	return &reader{ctx: ctx, trusted: trusted, sealer: sealer, fileKeys: map[string]fileRow{}, rows: map[string]int64{}}
}

// entry reads one archive entry: rows are decoded (and, with w, written),
// audit rows verified, files checked against their SHA-256.
func (rd *reader) entry(name string, r io.Reader, w func(table string, cols []string, row []any) error) error {
	if name == schemaEntry {
		var tables []Table
		if err := json.NewDecoder(io.LimitReader(r, 16<<20)).Decode(&tables); err != nil {
			return fmt.Errorf("the table list of the backup is malformed: %w", err)
		}
		rd.columns = map[string][]string{}
		for _, t := range tables {
			rd.columns[t.Name] = t.Columns
		}
		return nil
	}
	if table, ok := tableOf(name); ok {
		c, ok := rd.columns[table]
		if !ok {
			return fmt.Errorf("%s: the table is not in the backup's table list", name)
		}
		idx := columnIndex(c)
		return rowsOf(r, len(c), func(row []any) error {
			rd.rows[table]++
			switch table {
			case "audit_checkpoints":
				if note, ok := row[idx["note"]].(string); ok {
					rd.cps = append(rd.cps, audit.SourcedCheckpoint{Source: "backup", Note: []byte(note)})
				}
			case "audit_events":
				rd.trail.start(rd.ctx, rd.trusted, rd.cps)
				e, err := eventFromRow(idx, row)
				if err != nil {
					return err
				}
				rd.trail.ch <- e
			case "files":
				sha, _ := row[idx["sha256"]].(string)
				size, _ := row[idx["size"]].(int64)
				key, _ := row[idx["file_key"]].([]byte)
				rd.fileKeys[sha] = fileRow{size, key}
			}
			if w != nil {
				return w(table, c, row)
			}
			return nil
		})
	}
	if rest, ok := strings.CutPrefix(name, "files/"); ok {
		sha, _, _ := strings.Cut(rest, ".")
		fr, ok := rd.fileKeys[sha]
		if !ok {
			return fmt.Errorf("%s has no row in the files table", name)
		}
		sa, err := files.OpenKey(rd.sealer, &files.Stored{SHA256: sha, Key: fr.key})
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := files.CheckContent(sa, r, sha, fr.size); err != nil {
			return fmt.Errorf("the stored file %s in the backup does not match its SHA-256", sha)
		}
		rd.files++
	}
	return nil
}

// check completes a report after the walk.
func (rd *reader) check(rep *Report, man *Manifest, walkErr error) {
	if !rd.trail.started {
		rd.trail.start(rd.ctx, rd.trusted, rd.cps)
	}
	arep, aerr := rd.trail.finish()
	if walkErr != nil {
		rep.problem("%v", walkErr)
		return
	}
	rep.Manifest, rep.ContentChecked, rep.Files = man, true, rd.files
	for _, t := range man.Tables {
		if rd.rows[t.Name] != t.Rows {
			rep.problem("table %s has %d rows, the manifest says %d", t.Name, rd.rows[t.Name], t.Rows)
		}
		rep.Rows += rd.rows[t.Name]
	}
	if rd.files != len(man.Files) {
		rep.problem("%d stored files checked, the manifest lists %d", rd.files, len(man.Files))
	}
	if aerr != nil {
		rep.problem("the audit trail in the backup could not be checked: %v", aerr)
		return
	}
	rep.Audit = arep
	if !arep.OK() {
		rep.problem("the audit trail in the backup does not verify: %s", arep.First().Message)
	} else if arep.Events != man.Audit.Events || hex.EncodeToString(arep.Root) != man.Audit.Root {
		rep.problem("the audit trail has %d events with root %x, the manifest says %d with root %s", arep.Events, arep.Root, man.Audit.Events, man.Audit.Root)
	}
}
