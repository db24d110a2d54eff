package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/mamori-dev/mamori"
)

// Schema names the shape of mamori's catalog documents (JSON and YAML).
// docs/catalogs.md describes it field by field.
const Schema = "mamori.catalog/v1"

// MaxDocumentSize bounds the catalog documents mamori reads (64 MiB; the
// NIST SP 800-53 catalog with every enhancement is about 10 MiB).
const MaxDocumentSize = 64 << 20

// document is the serialised form: the catalog with a schema marker and a
// summary of its counts, so that readers (and the done-criterion of the
// FSA catalog) can check the totals without walking the tree.
type document struct {
	Schema   string   `json:"schema"`
	Summary  *Summary `json:"summary,omitempty"`
	*Catalog `yaml:",inline"`
}

// Summary is the derived count block of an exported catalog.
type Summary struct {
	Counts
	Sections int         `json:"sections"`
	Areas    []AreaCount `json:"areas,omitempty"`
}

// Summarize counts the catalog's sections and items, by tier and by area.
func (c *Catalog) Summarize() Summary {
	s := Summary{Counts: c.Count(), Areas: c.CountByArea()}
	_ = c.Walk(func(n, _ *Node, _ int) error {
		if n.Kind == KindSection {
			s.Sections++
		}
		return nil
	})
	return s
}

// EncodeJSON writes the whole catalog as indented JSON in mamori's catalog
// shape, with the summary block. Output is stable: the same catalog always
// gives the same bytes.
func EncodeJSON(w io.Writer, c *Catalog) error {
	s := c.Summarize()
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(document{Schema: Schema, Summary: &s, Catalog: c}); err != nil {
		return fmt.Errorf("encode catalog %s: %w", c.Key(), err)
	}
	return nil
}

// DecodeJSON reads a catalog in mamori's JSON shape and validates it. Unknown
// fields are refused, so a misspelt key does not silently drop data. When the
// document carries a summary, it must match the tree.
func DecodeJSON(data []byte) (*Catalog, error) {
	if len(data) > MaxDocumentSize {
		return nil, mamori.Errorf(mamori.ETOOLARGE, "The catalog file is larger than %d MiB.", MaxDocumentSize>>20)
	}
	var d document
	d.Catalog = &Catalog{}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, jsonError(data, err)
	}
	if dec.More() {
		return nil, mamori.Errorf(mamori.EINVALID, "The catalog file has data after the catalog document.")
	}
	return finish(d)
}

// DecodeYAML reads a catalog in mamori's shape written as YAML (the shipped
// catalogs are), strictly, and validates it.
func DecodeYAML(data []byte) (*Catalog, error) {
	if len(data) > MaxDocumentSize {
		return nil, mamori.Errorf(mamori.ETOOLARGE, "The catalog file is larger than %d MiB.", MaxDocumentSize>>20)
	}
	var d document
	d.Catalog = &Catalog{}
	if err := UnmarshalYAML(data, &d, yaml.Strict()); err != nil {
		return nil, mamori.Wrap(mamori.EINVALID, err, "The catalog file is not valid YAML for a mamori catalog: "+firstLine(err.Error()))
	}
	return finish(d)
}

// UnmarshalYAML is yaml.UnmarshalWithOptions that turns a panic inside the
// YAML library into an error: some malformed documents (a tag on an empty
// value decoded into a slice, found by fuzzing go-yaml v1.19.2) crash it,
// and bad input must never crash mamori.
func UnmarshalYAML(data []byte, v any, opts ...yaml.DecodeOption) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the YAML parser failed on this input (%v)", r)
		}
	}()
	return yaml.UnmarshalWithOptions(data, v, opts...)
}

func finish(d document) (*Catalog, error) {
	if d.Schema != Schema {
		return nil, mamori.Invalid("schema", fmt.Sprintf("must be %q, got %q", Schema, d.Schema))
	}
	c := d.Catalog
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if d.Summary != nil {
		got := c.Count()
		if got.Items != d.Summary.Items || fmt.Sprint(got.ByTier) != fmt.Sprint(d.Summary.ByTier) {
			return nil, mamori.Invalid("summary", fmt.Sprintf("says %d items %v but the tree has %d items %v; the file may be truncated or edited by hand",
				d.Summary.Items, d.Summary.ByTier, got.Items, got.ByTier))
		}
	}
	return c, nil
}

// jsonError turns a decoding error into an EINVALID error naming the line
// and column.
func jsonError(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := LineCol(data, syn.Offset-1) // Offset is just past the bad byte
		return mamori.Wrap(mamori.EINVALID, err, fmt.Sprintf("The file is not valid JSON at line %d, column %d: %s.", line, col, syn.Error()))
	case errors.As(err, &typ):
		line, col := LineCol(data, typ.Offset)
		field := strings.TrimPrefix(typ.Field, "Catalog.")
		return mamori.Wrap(mamori.EINVALID, err, fmt.Sprintf("At line %d, column %d, field %q must be %s, not %s.", line, col, field, typ.Type, typ.Value))
	case errors.Is(err, io.EOF):
		return mamori.Wrap(mamori.EINVALID, err, "The file is empty.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, _ := LineCol(data, int64(len(data)))
		return mamori.Wrap(mamori.EINVALID, err, fmt.Sprintf("The file ends too early, at line %d: the JSON is cut off.", line))
	}
	return mamori.Wrap(mamori.EINVALID, err, "The file could not be read: "+firstLine(err.Error()))
}

// LineCol converts a byte offset into a 1-based line and column (in runes).
func LineCol(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	if offset < 0 {
		offset = 0
	}
	before := data[:offset]
	line = bytes.Count(before, []byte{'\n'}) + 1
	start := bytes.LastIndexByte(before, '\n') + 1
	col = len([]rune(string(before[start:]))) + 1
	return line, col
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}
