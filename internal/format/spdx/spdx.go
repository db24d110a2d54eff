// Package spdx reads SPDX 2.x SBOMs (JSON and tag-value; 2.2 and 2.3 are
// tested on real documents, 2.1 is accepted) into sbom.Document with
// github.com/spdx/tools-golang. SPDX 3 is detected and refused clearly.
package spdx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/sbom"
	spdxjson "github.com/spdx/tools-golang/json"
	tools "github.com/spdx/tools-golang/spdx"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/tagvalue"
)

// Decoder implements sbom.Decoder for SPDX.
type Decoder struct{}

var _ sbom.Decoder = Decoder{}

var (
	jsonVersion     = regexp.MustCompile(`"spdxVersion"\s*:\s*"([^"]*)"`)
	tagValueVersion = regexp.MustCompile(`(?m)^\s*SPDXVersion:\s*(\S+)`)
	spdx3Context    = []byte("spdx.org/rdf/3.")
)

// Detect reports whether data looks like an SPDX JSON or tag-value
// document (or an SPDX 3 one, which Decode then refuses with a reason).
func (Decoder) Detect(data []byte) bool {
	if firstByte(data) == '{' {
		return bytes.Contains(data, []byte(`"spdxVersion"`)) || bytes.Contains(data, spdx3Context)
	}
	return tagValueVersion.Match(data)
}

// Decode parses an SPDX document.
func (Decoder) Decode(data []byte) (*sbom.Document, error) { return Decode(data) }

// Decode parses an SPDX 2.x JSON or tag-value document. Any error refuses
// the whole document with an EINVALID error saying why.
func Decode(data []byte) (*sbom.Document, error) {
	var (
		doc     *tools.Document
		err     error
		enc     sbom.Encoding
		version string
	)
	if firstByte(data) == '{' {
		enc = sbom.EncodingJSON
		if m := jsonVersion.FindSubmatch(data); m != nil {
			version = string(m[1])
		} else if bytes.Contains(data, spdx3Context) {
			return nil, mamori.Errorf(mamori.EINVALID, "SPDX 3 documents are not supported yet; please export SPDX 2.3 or CycloneDX.")
		}
		if err := checkVersion(version); err != nil {
			return nil, err
		}
		doc, err = spdxjson.Read(bytes.NewReader(data))
		if err != nil {
			return nil, jsonError(data, err)
		}
	} else {
		enc = sbom.EncodingTagValue
		if m := tagValueVersion.FindSubmatch(data); m != nil {
			version = string(m[1])
		}
		if err := checkVersion(version); err != nil {
			return nil, err
		}
		doc, err = tagvalue.Read(bytes.NewReader(data))
		if err != nil {
			return nil, mamori.Wrap(mamori.EINVALID, err, "Invalid SPDX tag-value: "+err.Error()+".")
		}
	}
	if doc == nil {
		return nil, mamori.Errorf(mamori.EINVALID, "The SPDX document is empty.")
	}
	if err := validate(doc); err != nil {
		return nil, err
	}
	return convert(doc, enc, strings.TrimPrefix(version, "SPDX-"))
}

// validate checks the fields SPDX 2 makes mandatory. Besides refusing
// incomplete documents, this catches most tag-value files cut short, which
// otherwise parse as a valid but smaller document.
func validate(d *tools.Document) error {
	fe := mamori.FieldErrors{}
	if d.SPDXIdentifier != "DOCUMENT" {
		fe.Add("SPDXID", "must be SPDXRef-DOCUMENT")
	}
	if strings.TrimSpace(d.DocumentName) == "" {
		fe.Add("name", "is missing")
	}
	if strings.TrimSpace(d.DocumentNamespace) == "" {
		fe.Add("documentNamespace", "is missing")
	}
	if d.CreationInfo == nil || d.CreationInfo.Created == "" {
		fe.Add("creationInfo.created", "is missing")
	} else if len(d.CreationInfo.Creators) == 0 {
		fe.Add("creationInfo.creators", "is missing")
	}
	for i, p := range d.Packages {
		if p == nil {
			continue
		}
		field := "packages[" + strconv.Itoa(i) + "]"
		if p.PackageSPDXIdentifier == "" {
			fe.Add(field+".SPDXID", "is missing")
		}
		if strings.TrimSpace(p.PackageDownloadLocation) == "" {
			fe.Add(field+".downloadLocation", "is missing (use NOASSERTION when unknown)")
		}
	}
	return fe.Err()
}

func checkVersion(v string) error {
	switch v {
	case "SPDX-2.1", "SPDX-2.2", "SPDX-2.3":
		return nil
	case "":
		return mamori.Invalid("spdxVersion", "is missing")
	}
	return mamori.Invalid("spdxVersion", fmt.Sprintf("%q is not supported (SPDX-2.1 to SPDX-2.3 are)", v))
}

func convert(d *tools.Document, enc sbom.Encoding, version string) (*sbom.Document, error) {
	doc := &sbom.Document{
		Format:       sbom.FormatSPDX,
		SpecVersion:  version,
		Encoding:     enc,
		SerialNumber: d.DocumentNamespace,
		Name:         d.DocumentName,
	}
	if ci := d.CreationInfo; ci != nil {
		if t, err := time.Parse(time.RFC3339, ci.Created); err == nil {
			doc.Created = t.UTC()
		}
		for _, c := range ci.Creators {
			if c.CreatorType == "Tool" {
				doc.Tools = append(doc.Tools, c.Creator)
			}
		}
	}
	deps := map[string][]string{}
	for _, r := range d.Relationships {
		if r == nil {
			continue
		}
		a, b := common.RenderDocElementID(r.RefA), common.RenderDocElementID(r.RefB)
		typ := strings.ToUpper(strings.TrimSpace(r.Relationship))
		doc.Relationships = append(doc.Relationships, sbom.Relationship{From: a, Type: typ, To: b})
		switch {
		case typ == sbom.RelDependsOn || typ == "DYNAMIC_LINK" || typ == "STATIC_LINK":
			deps[a] = append(deps[a], b)
		case typ == "DEPENDENCY_OF" || strings.HasSuffix(typ, "_DEPENDENCY_OF"):
			deps[b] = append(deps[b], a)
		}
	}
	doc.Components = make([]sbom.Component, 0, len(d.Packages))
	for _, p := range d.Packages {
		if p == nil {
			continue
		}
		c := sbom.Component{
			Ref:     common.RenderElementID(p.PackageSPDXIdentifier),
			Type:    strings.ToLower(p.PrimaryPackagePurpose),
			Name:    p.PackageName,
			Version: p.PackageVersion,
		}
		for _, ref := range p.PackageExternalReferences {
			if ref == nil {
				continue
			}
			cat := strings.ReplaceAll(strings.ToUpper(ref.Category), "_", "-")
			switch {
			case cat == "PACKAGE-MANAGER" && ref.RefType == "purl" && c.PURL == "":
				c.PURL = strings.TrimSpace(ref.Locator)
			case cat == "SECURITY" && ref.RefType == "cpe23Type":
				c.CPE = strings.TrimSpace(ref.Locator)
			case cat == "SECURITY" && ref.RefType == "cpe22Type" && c.CPE == "":
				c.CPE = strings.TrimSpace(ref.Locator)
			}
		}
		if s := p.PackageSupplier; s != nil && s.Supplier != "" && s.Supplier != "NOASSERTION" {
			c.Supplier = s.Supplier
		}
		if l := license(p.PackageLicenseConcluded); l != "" {
			c.Licenses = []string{l}
		} else if l := license(p.PackageLicenseDeclared); l != "" {
			c.Licenses = []string{l}
		}
		for _, h := range p.PackageChecksums {
			c.Hashes = append(c.Hashes, sbom.Hash{Algorithm: string(h.Algorithm), Value: h.Value})
		}
		c.DependsOn = deps[c.Ref]
		doc.Components = append(doc.Components, c)
	}
	if err := doc.Validate(); err != nil {
		return nil, err
	}
	return doc, nil
}

func license(s string) string {
	s = strings.TrimSpace(s)
	if s == "NOASSERTION" || s == "NONE" {
		return ""
	}
	return s
}

func firstByte(data []byte) byte {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	data = bytes.TrimLeft(data, " \t\r\n")
	if len(data) == 0 {
		return 0
	}
	return data[0]
}

func jsonError(data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off := min(se.Offset, int64(len(data)))
		before := data[:off]
		line := bytes.Count(before, []byte{'\n'}) + 1
		col := int(off) - bytes.LastIndexByte(before, '\n')
		return mamori.Wrap(mamori.EINVALID, err, fmt.Sprintf("Invalid JSON at line %d, column %d: %s.", line, col, se.Error()))
	}
	return mamori.Wrap(mamori.EINVALID, err, "Invalid SPDX JSON: "+err.Error()+".")
}
