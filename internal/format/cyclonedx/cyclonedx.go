// Package cyclonedx reads CycloneDX SBOMs (JSON and XML, spec 1.0–1.7 as
// far as github.com/CycloneDX/cyclonedx-go knows them; 1.2–1.6 are tested
// on real documents) into sbom.Document.
package cyclonedx

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/sbom"
)

// Decoder implements sbom.Decoder for CycloneDX.
type Decoder struct{}

var _ sbom.Decoder = Decoder{}

// Detect reports whether data looks like a CycloneDX JSON or XML document.
func (Decoder) Detect(data []byte) bool {
	switch firstByte(data) {
	case '{':
		return bytes.Contains(data, []byte(`"bomFormat"`))
	case '<':
		return bytes.Contains(head(data), []byte("cyclonedx.org/schema/bom"))
	}
	return false
}

// Decode parses a CycloneDX document.
func (Decoder) Decode(data []byte) (*sbom.Document, error) { return Decode(data) }

// Decode parses a CycloneDX JSON or XML document. Any syntax or structure
// error refuses the whole document with an EINVALID error naming the line.
func Decode(data []byte) (*sbom.Document, error) {
	var bom cdx.BOM
	var enc sbom.Encoding
	switch firstByte(data) {
	case '{':
		enc = sbom.EncodingJSON
		if err := json.Unmarshal(data, &bom); err != nil {
			return nil, jsonError(data, err)
		}
		if bom.BOMFormat != cdx.BOMFormat {
			return nil, mamori.Invalid("bomFormat", fmt.Sprintf("must be %q, not %q", cdx.BOMFormat, bom.BOMFormat))
		}
	case '<':
		enc = sbom.EncodingXML
		if err := xml.NewDecoder(bytes.NewReader(data)).Decode(&bom); err != nil {
			return nil, xmlError(err)
		}
		bom.SpecVersion = 0
		for v := cdx.SpecVersion1_0; v <= cdx.SpecVersion1_7; v++ {
			if xmlNamespace(v) == bom.XMLNS {
				bom.SpecVersion = v
			}
		}
		if bom.SpecVersion == 0 {
			return nil, mamori.Invalid("xmlns", fmt.Sprintf("%q is not a CycloneDX BOM namespace", bom.XMLNS))
		}
	default:
		return nil, mamori.Errorf(mamori.EINVALID, "This is neither CycloneDX JSON nor XML.")
	}
	if bom.SpecVersion < cdx.SpecVersion1_0 || bom.SpecVersion > cdx.SpecVersion1_7 {
		return nil, mamori.Invalid("specVersion", "is missing or not a known CycloneDX version")
	}

	doc := &sbom.Document{
		Format:       sbom.FormatCycloneDX,
		SpecVersion:  bom.SpecVersion.String(),
		Encoding:     enc,
		SerialNumber: bom.SerialNumber,
		Version:      bom.Version,
	}
	if m := bom.Metadata; m != nil {
		if t, err := time.Parse(time.RFC3339, m.Timestamp); err == nil {
			doc.Created = t.UTC()
		}
		doc.Tools = tools(m.Tools)
		if m.Component != nil {
			s := component(*m.Component, "")
			doc.Subject = &s
			doc.Name = s.Name
			if s.Group != "" {
				doc.Name = s.Group + "/" + s.Name
			}
		}
	}
	if bom.Components != nil {
		doc.Components = make([]sbom.Component, 0, len(*bom.Components))
		flatten(*bom.Components, "", &doc.Components)
	}
	if bom.Dependencies != nil {
		deps := map[string][]string{}
		for _, d := range *bom.Dependencies {
			if d.Dependencies == nil {
				continue
			}
			for _, to := range *d.Dependencies {
				deps[d.Ref] = append(deps[d.Ref], to)
				doc.Relationships = append(doc.Relationships, sbom.Relationship{From: d.Ref, Type: sbom.RelDependsOn, To: to})
			}
		}
		for i := range doc.Components {
			if r := doc.Components[i].Ref; r != "" {
				doc.Components[i].DependsOn = deps[r]
			}
		}
	}
	if err := doc.Validate(); err != nil {
		return nil, err
	}
	return doc, nil
}

// flatten appends cs and their nested components depth-first, so a
// component is followed by its children as in the document.
func flatten(cs []cdx.Component, parent string, out *[]sbom.Component) {
	for _, c := range cs {
		*out = append(*out, component(c, parent))
		if c.Components != nil {
			flatten(*c.Components, c.BOMRef, out)
		}
	}
}

func component(c cdx.Component, parent string) sbom.Component {
	out := sbom.Component{
		Ref:     c.BOMRef,
		Type:    string(c.Type),
		Group:   c.Group,
		Name:    c.Name,
		Version: c.Version,
		PURL:    strings.TrimSpace(c.PackageURL),
		CPE:     strings.TrimSpace(c.CPE),
		Parent:  parent,
	}
	switch {
	case c.Supplier != nil && c.Supplier.Name != "":
		out.Supplier = c.Supplier.Name
	case c.Publisher != "":
		out.Supplier = c.Publisher
	}
	if c.Licenses != nil {
		for _, l := range *c.Licenses {
			switch {
			case l.Expression != "":
				out.Licenses = append(out.Licenses, l.Expression)
			case l.License != nil && l.License.ID != "":
				out.Licenses = append(out.Licenses, l.License.ID)
			case l.License != nil && l.License.Name != "":
				out.Licenses = append(out.Licenses, l.License.Name)
			}
		}
	}
	if c.Hashes != nil {
		for _, h := range *c.Hashes {
			out.Hashes = append(out.Hashes, sbom.Hash{Algorithm: string(h.Algorithm), Value: strings.TrimSpace(h.Value)})
		}
	}
	return out
}

func tools(t *cdx.ToolsChoice) []string {
	if t == nil {
		return nil
	}
	var out []string
	join := func(parts ...string) {
		var nonEmpty []string
		for _, p := range parts {
			if p = strings.TrimSpace(p); p != "" {
				nonEmpty = append(nonEmpty, p)
			}
		}
		if len(nonEmpty) > 0 {
			out = append(out, strings.Join(nonEmpty, " "))
		}
	}
	if t.Tools != nil {
		for _, x := range *t.Tools {
			join(x.Vendor, x.Name, x.Version)
		}
	}
	if t.Components != nil {
		for _, x := range *t.Components {
			join(x.Group, x.Name, x.Version)
		}
	}
	if t.Services != nil {
		for _, x := range *t.Services {
			join(x.Group, x.Name, x.Version)
		}
	}
	return out
}

func xmlNamespace(v cdx.SpecVersion) string {
	return "http://cyclonedx.org/schema/bom/" + v.String()
}

// firstByte returns the first byte that is not white space or a UTF-8
// byte order mark.
func firstByte(data []byte) byte {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	data = bytes.TrimLeft(data, " \t\r\n")
	if len(data) == 0 {
		return 0
	}
	return data[0]
}

// head is the start of an XML document, where the root element and its
// namespace are, after any prolog and comments.
func head(data []byte) []byte {
	if len(data) > 4096 {
		return data[:4096]
	}
	return data
}

// jsonError turns a decoding error into a user-facing EINVALID error with
// the line and column where decoding stopped.
func jsonError(data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := position(data, se.Offset)
		if se.Offset >= int64(len(data)) {
			return mamori.Wrap(mamori.EINVALID, err, fmt.Sprintf("The JSON ends early at line %d; the file may be truncated.", line))
		}
		return mamori.Wrap(mamori.EINVALID, err, fmt.Sprintf("Invalid JSON at line %d, column %d: %s.", line, col, se.Error()))
	case errors.As(err, &te):
		line, col := position(data, te.Offset)
		return mamori.Wrap(mamori.EINVALID, err, fmt.Sprintf("Field %q at line %d, column %d has a %s where a %s is expected.", te.Field, line, col, te.Value, te.Type))
	case errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "unexpected end of JSON input"):
		return mamori.Wrap(mamori.EINVALID, err, "The JSON ends early; the file may be truncated.")
	}
	return mamori.Wrap(mamori.EINVALID, err, "Invalid CycloneDX JSON: "+err.Error()+".")
}

func xmlError(err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		if se.Msg == "unexpected EOF" {
			return mamori.Wrap(mamori.EINVALID, err, fmt.Sprintf("The XML ends early at line %d; the file may be truncated.", se.Line))
		}
		return mamori.Wrap(mamori.EINVALID, err, fmt.Sprintf("Invalid XML at line %d: %s.", se.Line, se.Msg))
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return mamori.Wrap(mamori.EINVALID, err, "The XML ends early; the file may be truncated.")
	}
	return mamori.Wrap(mamori.EINVALID, err, "Invalid CycloneDX XML: "+err.Error()+".")
}

func position(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(offset) - bytes.LastIndexByte(before, '\n')
	return line, col
}
