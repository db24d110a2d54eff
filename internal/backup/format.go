// Package backup takes, checks and restores mamori's backups, and runs the
// scheduled backups with their restore drills.
//
// A backup file is one stream, readable without mamori's help by anyone
// holding the keys:
//
//	MAMORI-BACKUP/1\n                 magic line
//	{header JSON}\n                   id, time, source engine and schema
//	                                  version, the backup key (sealed)
//	ciphertext                        Tink streaming AEAD (AES256-GCM-HKDF,
//	                                  1 MiB segments), associated data = the
//	                                  two lines above, of a gzip'd tar:
//	    db/schema.json                the tables and their columns
//	    db/<table>/000001.jsonl       the rows of each table, one JSON array
//	                                  a line, in parts of at most 4 MiB
//	    files/<sha256>.<blob>         stored files, as encrypted on disk
//	    keys/signing.pub              the public keys that sign checkpoints
//	    manifest.json                 SHA-256 and size of every entry, row
//	                                  counts, the audit tree's size and root
//	signed note                       "mamori backup v1", id, size and
//	                                  SHA-256 of everything above, signed
//	                                  (Ed25519, signed-note format) with
//	                                  mamori's signing key
//	footer                            8-byte big-endian length of the note,
//	                                  then "MAMORSIG"
//
// The backup key is a fresh streaming key per backup, sealed by the
// key-encryption key (KEK) with the backup's ID as associated data. The KEK
// itself is never in a backup: a backup that carries its own key is
// protected by nothing. Restoring needs the KEK (the keyset file of the
// data directory, an offline copy of it, or the KMS).
package backup

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	magic       = "MAMORI-BACKUP/1\n"
	footerMagic = "MAMORSIG"
	footerLen   = 8 + len(footerMagic)
	noteTitle   = "mamori backup v1"
	// maxHeader bounds the header line a reader accepts.
	maxHeader = 64 << 10
	// maxNote bounds the signed note a reader accepts.
	maxNote = 16 << 10
	// partSize bounds each table part (and the memory a backup needs).
	partSize = 4 << 20
	// schemaEntry, the first entry, lists the tables and their columns.
	schemaEntry = "db/schema.json"
)

// Header is the unencrypted description at the start of a backup. It holds
// nothing secret: the backup key in it is sealed by the KEK.
type Header struct {
	Format        int       `json:"format"`
	ID            string    `json:"id"`
	CreatedAt     time.Time `json:"created_at"`
	MamoriVersion string    `json:"mamori_version"`
	Dialect       string    `json:"dialect"`
	SchemaVersion int       `json:"schema_version"`
	Cipher        string    `json:"cipher"`
	Compression   string    `json:"compression"`
	WrappedKey    []byte    `json:"wrapped_key"`
}

// Entry is one file inside the archive.
type Entry struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// TableEntry is one table of the database export.
type TableEntry struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
	Rows    int64    `json:"rows"`
	Parts   []Entry  `json:"parts"`
}

// FileEntry is one stored file (as encrypted on disk).
type FileEntry struct {
	SHA256 string `json:"sha256"` // of the file's content
	Blob   string `json:"blob"`
	Entry  Entry  `json:"entry"`
}

// AuditSummary describes the audit trail in the backup.
type AuditSummary struct {
	Events     uint64 `json:"events"`
	Root       string `json:"root"`                 // hex, recomputed from the exported events
	Checkpoint string `json:"checkpoint,omitempty"` // the latest signed checkpoint at backup time
}

// Manifest is the last entry of the archive.
type Manifest struct {
	Format        int          `json:"format"`
	ID            string       `json:"id"`
	CreatedAt     time.Time    `json:"created_at"`
	MamoriVersion string       `json:"mamori_version"`
	Dialect       string       `json:"dialect"`
	SchemaVersion int          `json:"schema_version"`
	Tables        []TableEntry `json:"tables"`
	Files         []FileEntry  `json:"files"`
	Others        []Entry      `json:"others"`
	Audit         AuditSummary `json:"audit"`
}

// Rows counts the rows of every table.
func (m *Manifest) Rows() int64 {
	var n int64
	for _, t := range m.Tables {
		n += t.Rows
	}
	return n
}

// signedText is the text of a backup's signed note.
func signedText(id string, size int64, sum []byte) string {
	return fmt.Sprintf("%s\nid %s\nsize %d\nsha256 %s\n", noteTitle, id, size, hex.EncodeToString(sum))
}

// parseSigned reads the fields of a verified note's text.
func parseSigned(text string) (id string, size int64, sum []byte, err error) {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 4 || lines[0] != noteTitle {
		return "", 0, nil, errors.New("the signature is not of a mamori backup")
	}
	id, ok1 := strings.CutPrefix(lines[1], "id ")
	sz, ok2 := strings.CutPrefix(lines[2], "size ")
	hx, ok3 := strings.CutPrefix(lines[3], "sha256 ")
	size, err1 := strconv.ParseInt(sz, 10, 64)
	sum, err2 := hex.DecodeString(hx)
	if !ok1 || !ok2 || !ok3 || err1 != nil || err2 != nil || len(sum) != sha256.Size || size < 0 {
		return "", 0, nil, errors.New("the signed note of the backup is malformed")
	}
	return id, size, sum, nil
}

// ErrNotBackup says a file is not a mamori backup (or its end is damaged).
var ErrNotBackup = errors.New("not a mamori backup, or its end is damaged")

// layout locates the parts of a backup file of the given size.
type layout struct {
	bodySize int64
	note     []byte
}

// readLayout reads the footer and the signed note at the end of a backup.
func readLayout(r io.ReaderAt, size int64) (*layout, error) {
	if size < int64(len(magic)+footerLen) {
		return nil, ErrNotBackup
	}
	foot := make([]byte, footerLen)
	if _, err := r.ReadAt(foot, size-int64(footerLen)); err != nil {
		return nil, fmt.Errorf("read the backup: %w", err)
	}
	if string(foot[8:]) != footerMagic {
		return nil, ErrNotBackup
	}
	n := binary.BigEndian.Uint64(foot[:8])
	if n == 0 || n > maxNote || int64(n) > size-int64(footerLen+len(magic)) {
		return nil, ErrNotBackup
	}
	note := make([]byte, n)
	body := size - int64(footerLen) - int64(n)
	if _, err := r.ReadAt(note, body); err != nil {
		return nil, fmt.Errorf("read the backup: %w", err)
	}
	return &layout{bodySize: body, note: note}, nil
}

// readHeader reads the magic line and the header line at the start of the
// body; prefix is their exact bytes (the associated data of the stream).
func readHeader(br *bufio.Reader) (*Header, []byte, error) {
	m := make([]byte, len(magic))
	if _, err := io.ReadFull(br, m); err != nil || string(m) != magic {
		return nil, nil, ErrNotBackup
	}
	line, err := readLine(br, maxHeader)
	if err != nil {
		return nil, nil, ErrNotBackup
	}
	var h Header
	if err := json.Unmarshal(line, &h); err != nil || h.Format != 1 || h.ID == "" || len(h.WrappedKey) == 0 {
		return nil, nil, fmt.Errorf("%w: the header is malformed", ErrNotBackup)
	}
	prefix := append([]byte(magic), line...)
	return &h, append(prefix, '\n'), nil
}

func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var out []byte
	for {
		chunk, err := br.ReadSlice('\n')
		out = append(out, chunk...)
		if len(out) > max {
			return nil, errors.New("line too long")
		}
		if err == nil {
			return bytes.TrimSuffix(out, []byte("\n")), nil
		}
		if err != bufio.ErrBufferFull {
			return nil, err
		}
	}
}

// The rows of a table are JSON arrays, one a line. Values keep their type
// across engines: strings, integers and booleans as themselves, bytes as
// {"b":"base64"}, times as {"t":"RFC 3339"}, floats as {"f":number}.

// encodeRow appends the JSON line of a row to dst.
func encodeRow(dst []byte, row []any) ([]byte, error) {
	dst = append(dst, '[')
	for i, v := range row {
		if i > 0 {
			dst = append(dst, ',')
		}
		switch x := v.(type) {
		case nil:
			dst = append(dst, "null"...)
		case string:
			b, err := json.Marshal(x)
			if err != nil {
				return nil, err
			}
			dst = append(dst, b...)
		case int64:
			dst = strconv.AppendInt(dst, x, 10)
		case bool:
			dst = strconv.AppendBool(dst, x)
		case []byte:
			dst = append(dst, `{"b":"`...)
			dst = base64.StdEncoding.AppendEncode(dst, x)
			dst = append(dst, `"}`...)
		case time.Time:
			dst = append(dst, `{"t":"`...)
			dst = x.UTC().AppendFormat(dst, time.RFC3339Nano)
			dst = append(dst, `"}`...)
		case float64:
			b, err := json.Marshal(x)
			if err != nil {
				return nil, err
			}
			dst = append(dst, `{"f":`...)
			dst = append(dst, b...)
			dst = append(dst, '}')
		default:
			return nil, fmt.Errorf("cannot export a %T value", v)
		}
	}
	return append(dst, ']', '\n'), nil
}

// decodeRow parses one JSON line of a table part. It reads the subset of
// JSON that encodeRow writes (tolerating white space), with fast paths for
// the common values, and refuses anything else.
func decodeRow(line []byte, columns int) ([]any, error) {
	p := rowParser{b: line}
	p.space()
	if !p.eat('[') {
		return nil, errors.New("a row is not a JSON array")
	}
	out := make([]any, 0, columns)
	p.space()
	if p.eat(']') {
		return finishRow(&p, out, columns)
	}
	for {
		p.space()
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		p.space()
		if p.eat(']') {
			return finishRow(&p, out, columns)
		}
		if !p.eat(',') {
			return nil, fmt.Errorf("a row has a malformed value at byte %d", p.i)
		}
	}
}

func finishRow(p *rowParser, out []any, columns int) ([]any, error) {
	p.space()
	if p.i != len(p.b) {
		return nil, errors.New("a row has data after its end")
	}
	if len(out) != columns {
		return nil, fmt.Errorf("a row has %d values for %d columns", len(out), columns)
	}
	return out, nil
}

type rowParser struct {
	b []byte
	i int
}

func (p *rowParser) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\r' || p.b[p.i] == '\n') {
		p.i++
	}
}

func (p *rowParser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *rowParser) lit(s string) bool {
	if bytes.HasPrefix(p.b[p.i:], []byte(s)) {
		p.i += len(s)
		return true
	}
	return false
}

// str reads a JSON string: without escapes, its bytes; with escapes,
// through encoding/json.
func (p *rowParser) str() (string, error) {
	start := p.i
	if !p.eat('"') {
		return "", fmt.Errorf("a string was expected at byte %d", p.i)
	}
	escaped := false
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '\\':
			escaped = true
			p.i += 2
			continue
		case c == '"':
			p.i++
			if !escaped {
				if !utf8.Valid(p.b[start+1 : p.i-1]) {
					return "", errors.New("a string is not valid UTF-8")
				}
				return string(p.b[start+1 : p.i-1]), nil
			}
			var s string
			if err := json.Unmarshal(p.b[start:p.i], &s); err != nil {
				return "", fmt.Errorf("a malformed string at byte %d", start)
			}
			return s, nil
		case c < 0x20:
			return "", fmt.Errorf("a control character in a string at byte %d", p.i)
		}
		p.i++
	}
	return "", errors.New("a string is not closed")
}

func (p *rowParser) value() (any, error) {
	if p.i >= len(p.b) {
		return nil, errors.New("a row ends early")
	}
	switch c := p.b[p.i]; {
	case c == 'n':
		if p.lit("null") {
			return nil, nil
		}
	case c == 't':
		if p.lit("true") {
			return true, nil
		}
	case c == 'f':
		if p.lit("false") {
			return false, nil
		}
	case c == '"':
		return p.str()
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.i
		p.i++
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
		}
		num := string(p.b[start:p.i])
		if len(num) > 1 && (num[0] == '0' || strings.HasPrefix(num, "-0")) {
			return nil, fmt.Errorf("bad number %q", num)
		}
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad number %q", num)
		}
		return n, nil
	case c == '{':
		return p.typed()
	}
	return nil, fmt.Errorf("a row has a malformed value at byte %d", p.i)
}

// typed reads {"b":"base64"}, {"t":"time"} or {"f":number}.
func (p *rowParser) typed() (any, error) {
	start := p.i
	p.i++
	p.space()
	key, err := p.str()
	if err != nil {
		return nil, err
	}
	p.space()
	if !p.eat(':') {
		return nil, fmt.Errorf("bad value at byte %d", start)
	}
	p.space()
	var v any
	switch key {
	case "b", "t":
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		if key == "b" {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return nil, fmt.Errorf("bad bytes value: %w", err)
			}
			v = b
		} else {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return nil, fmt.Errorf("bad time value: %w", err)
			}
			v = t.UTC()
		}
	case "f":
		end := p.i
		for end < len(p.b) && strings.IndexByte("+-.0123456789eE", p.b[end]) >= 0 {
			end++
		}
		var f float64
		if err := json.Unmarshal(p.b[p.i:end], &f); err != nil {
			return nil, fmt.Errorf("bad number value at byte %d", p.i)
		}
		p.i = end
		v = f
	default:
		return nil, fmt.Errorf("bad value at byte %d", start)
	}
	p.space()
	if !p.eat('}') {
		return nil, fmt.Errorf("bad value at byte %d", start)
	}
	return v, nil
}
