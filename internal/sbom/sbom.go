// Package sbom is the software bill of materials domain: a format-neutral
// Document with its Components, decoding through format adapters
// (internal/format/cyclonedx, internal/format/spdx) chosen by sniffing, and
// the Diff between two versions of a system's SBOM.
package sbom

import (
	"strconv"
	"strings"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/package-url/packageurl-go"
)

// Format is the SBOM standard a document was written in.
type Format string

const (
	FormatCycloneDX Format = "CycloneDX"
	FormatSPDX      Format = "SPDX"
)

// Encoding is how a document was serialised.
type Encoding string

const (
	EncodingJSON     Encoding = "json"
	EncodingXML      Encoding = "xml"
	EncodingTagValue Encoding = "tag-value"
)

// Document is one imported SBOM, whatever its format.
type Document struct {
	Format      Format
	SpecVersion string // "1.4" for CycloneDX, "2.3" for SPDX
	Encoding    Encoding
	// SerialNumber identifies the document: the CycloneDX serialNumber
	// (urn:uuid:…) or the SPDX documentNamespace.
	SerialNumber string
	// Version is the CycloneDX BOM version (0 when the format has none).
	Version int
	// Name names what the SBOM describes: the CycloneDX metadata component
	// or the SPDX document name.
	Name string
	// Subject is the component the SBOM describes (CycloneDX
	// metadata.component), when the document names one. It is not in
	// Components: it is the product, not one of its parts.
	Subject *Component
	Tools   []string  // "vendor name version" of the generating tools
	Created time.Time // zero when the document gives no creation time
	// Components are every component of the document, nested ones
	// flattened (their Parent names the enclosing component).
	Components []Component
	// Relationships are the document's typed edges between refs: the
	// CycloneDX dependency graph (DEPENDS_ON) or SPDX relationships.
	Relationships []Relationship
}

// Component is one part of the software the SBOM describes.
type Component struct {
	// Ref identifies the component inside its document: the CycloneDX
	// bom-ref or the SPDX SPDXID. It may be empty in CycloneDX.
	Ref      string
	Type     string // library, application, framework, container, operating-system, file…
	Group    string // CycloneDX group (Maven groupId, npm scope…)
	Name     string
	Version  string
	PURL     string // package URL, as written in the document
	CPE      string // CPE 2.3 (or 2.2) name
	Supplier string
	Licenses []string // SPDX identifiers or expressions, or free-text names
	Hashes   []Hash
	// DependsOn lists the refs this component depends on directly.
	DependsOn []string
	// Parent is the ref of the enclosing component for nested CycloneDX
	// components; empty at the top level.
	Parent string
}

// Hash is one checksum of a component.
type Hash struct {
	Algorithm string // as the document names it: SHA-256, SHA256, MD5…
	Value     string
}

// Relationship is one typed edge of the document graph.
type Relationship struct {
	From string
	Type string // DEPENDS_ON, CONTAINS, DESCRIBES… (SPDX relationship types)
	To   string
}

// RelDependsOn is the relationship type of dependency edges.
const RelDependsOn = "DEPENDS_ON"

// Key identifies a component across two versions of an SBOM, so that a
// version bump is a change rather than a removal plus an addition. It is
// the package URL without version, qualifiers and subpath when the
// component has a parseable one (type/namespace/name, lower-cased where the
// purl type is case-insensitive), else "name:" + group/name.
func (c Component) Key() string {
	if c.PURL != "" {
		if p, err := packageurl.FromString(c.PURL); err == nil {
			var b strings.Builder
			b.WriteString("pkg:")
			b.WriteString(p.Type)
			b.WriteByte('/')
			if p.Namespace != "" {
				b.WriteString(p.Namespace)
				b.WriteByte('/')
			}
			b.WriteString(p.Name)
			return b.String()
		}
	}
	if c.Group != "" {
		return "name:" + c.Group + "/" + c.Name
	}
	return "name:" + c.Name
}

// Validate checks what every stored document must have. Adapters call it
// so that a document that decodes but is unusable is refused whole.
func (d *Document) Validate() error {
	fe := mamori.FieldErrors{}
	if d.Format != FormatCycloneDX && d.Format != FormatSPDX {
		fe.Addf("format", "unknown SBOM format %q", d.Format)
	}
	if d.SpecVersion == "" {
		fe.Add("specVersion", "the document does not state its specification version")
	}
	for i, c := range d.Components {
		if strings.TrimSpace(c.Name) == "" && c.PURL == "" {
			fe.Addf(componentField(i), "component has neither a name nor a package URL")
		}
	}
	return fe.Err()
}

func componentField(i int) string {
	return "components[" + strconv.Itoa(i) + "]"
}
