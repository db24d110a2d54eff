// Package catalogfile reads a catalog file in any format mamori imports —
// mamori's own JSON or YAML, OSCAL catalog JSON, CISO Assistant framework
// YAML — telling the format from the content, and returns a validated
// catalog ready to be stored. It only dispatches: each format's adapter
// does the work.
package catalogfile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/control"
	"github.com/mamori-dev/mamori/internal/format/cisoassistant"
	"github.com/mamori-dev/mamori/internal/format/oscal"
)

// Format names a catalog file format.
type Format string

const (
	Auto          Format = ""               // detect from the content
	MamoriJSON    Format = "mamori-json"    // mamori's catalog shape in JSON
	MamoriYAML    Format = "mamori-yaml"    // the same in YAML (the shipped catalogs)
	OSCAL         Format = "oscal"          // OSCAL 1.0/1.1 catalog JSON
	CISOAssistant Format = "ciso-assistant" // CISO Assistant framework library YAML
)

// Formats lists the formats Decode accepts by name.
var Formats = []Format{MamoriJSON, MamoriYAML, OSCAL, CISOAssistant}

// ParseFormat accepts a format name; "auto", "" and the short names
// "json", "mamori", "yaml", "ciso" are also understood.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return Auto, nil
	case "mamori", "json", "mamori-json":
		return MamoriJSON, nil
	case "yaml", "mamori-yaml":
		return MamoriYAML, nil
	case "oscal":
		return OSCAL, nil
	case "ciso", "ciso-assistant", "cisoassistant":
		return CISOAssistant, nil
	}
	return Auto, mamori.Invalid("format", fmt.Sprintf("%q is not a catalog format (auto, mamori-json, mamori-yaml, oscal, ciso-assistant)", s))
}

// Options tune Decode; each applies to the formats that need it.
type Options struct {
	Format Format
	// ID overrides the framework ID (OSCAL, CISO Assistant).
	ID string
	// Lang is the language of a foreign OSCAL catalog (default en).
	Lang string
	// EditionDate overrides or supplies the edition date (OSCAL, CISO
	// Assistant).
	EditionDate string
	// Tiers maps CISO Assistant implementation groups to tiers.
	Tiers map[string]control.Tier
}

// Detect tells the format from the content.
func Detect(data []byte) (Format, error) {
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(trimmed) == 0 {
		return Auto, mamori.Errorf(mamori.EINVALID, "The file is empty.")
	}
	if trimmed[0] == '{' {
		var top map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &top); err != nil {
			// Let the format's own decoder report where the JSON breaks.
			if bytes.Contains(trimmed[:min(len(trimmed), 512)], []byte(`"catalog"`)) {
				return OSCAL, nil
			}
			return MamoriJSON, nil
		}
		switch {
		case top["catalog"] != nil:
			return OSCAL, nil
		case top["schema"] != nil:
			return MamoriJSON, nil
		case top["profile"] != nil:
			return Auto, mamori.Errorf(mamori.EINVALID, "The file is an OSCAL profile; resolve it into a catalog first.")
		}
		return Auto, mamori.Errorf(mamori.EINVALID, "The JSON file is neither a mamori catalog (no \"schema\") nor an OSCAL catalog (no \"catalog\").")
	}
	// YAML: look at the top-level keys only, without parsing the whole file.
	for _, line := range strings.Split(string(trimmed), "\n") {
		switch {
		case strings.HasPrefix(line, "schema:"):
			return MamoriYAML, nil
		case strings.HasPrefix(line, "objects:"), strings.HasPrefix(line, "urn: urn:intuitem:"):
			return CISOAssistant, nil
		}
	}
	return Auto, mamori.Errorf(mamori.EINVALID, "The format of the file is not recognised; give it with --format (mamori-json, mamori-yaml, oscal, ciso-assistant).")
}

// Decode reads a catalog file and returns the validated catalog and the
// format it was read as.
func Decode(data []byte, opt Options) (*control.Catalog, Format, error) {
	f := opt.Format
	if f == Auto {
		var err error
		if f, err = Detect(data); err != nil {
			return nil, Auto, err
		}
	}
	var c *control.Catalog
	var err error
	switch f {
	case MamoriJSON:
		c, err = control.DecodeJSON(data)
	case MamoriYAML:
		c, err = control.DecodeYAML(data)
	case OSCAL:
		c, err = oscal.Decode(data, oscal.ImportOptions{ID: opt.ID, Lang: opt.Lang, EditionDate: opt.EditionDate})
	case CISOAssistant:
		c, err = cisoassistant.Decode(data, cisoassistant.Options{ID: opt.ID, EditionDate: opt.EditionDate, Tiers: opt.Tiers})
	default:
		return nil, f, mamori.Invalid("format", fmt.Sprintf("%q is not a catalog format", f))
	}
	if err != nil {
		return nil, f, err
	}
	if opt.ID != "" && (f == MamoriJSON || f == MamoriYAML) && c.Framework.ID != opt.ID {
		c.Framework.ID = opt.ID
		if err := c.Validate(); err != nil {
			return nil, f, err
		}
	}
	return c, f, nil
}

// ParseTiers reads "S=basic,R=desirable".
func ParseTiers(s string) (map[string]control.Tier, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	out := map[string]control.Tier{}
	for _, pair := range strings.Split(s, ",") {
		g, t, ok := strings.Cut(strings.TrimSpace(pair), "=")
		tier := control.Tier(strings.TrimSpace(t))
		if !ok || strings.TrimSpace(g) == "" || (tier != control.TierBasic && tier != control.TierDesirable) {
			return nil, mamori.Invalid("tiers", fmt.Sprintf("%q must look like GROUP=basic or GROUP=desirable", pair))
		}
		out[strings.TrimSpace(g)] = tier
	}
	return out, nil
}
