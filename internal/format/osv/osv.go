// Package osv reads and writes OSV advisories (the Open Source
// Vulnerability schema, ossf/osv-schema) as vuln.Advisory: one JSON file,
// a directory of them, or zip archives of them (the all.zip files
// ecosystems publish, and osv-scanner's <dir>/osv-scalibr/<Ecosystem>/all.zip
// local database layout).
package osv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/vuln"
)

// The wire structs hold only what vuln.Advisory keeps; encoding/json skips
// the rest (Go's symbol lists, credits) without allocating.
type advisoryJSON struct {
	SchemaVersion    string          `json:"schema_version,omitempty"`
	ID               string          `json:"id"`
	Modified         string          `json:"modified"`
	Published        string          `json:"published,omitempty"`
	Withdrawn        string          `json:"withdrawn,omitempty"`
	Aliases          []string        `json:"aliases,omitempty"`
	Related          []string        `json:"related,omitempty"`
	Upstream         []string        `json:"upstream,omitempty"`
	Summary          string          `json:"summary,omitempty"`
	Details          string          `json:"details,omitempty"`
	Severity         []scoreJSON     `json:"severity,omitempty"`
	Affected         []affectedJSON  `json:"affected,omitempty"`
	References       []referenceJSON `json:"references,omitempty"`
	DatabaseSpecific *specificJSON   `json:"database_specific,omitempty"`
}

type scoreJSON struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

type referenceJSON struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

type affectedJSON struct {
	Package           *packageJSON  `json:"package,omitempty"`
	Severity          []scoreJSON   `json:"severity,omitempty"`
	Ranges            []rangeJSON   `json:"ranges,omitempty"`
	Versions          []string      `json:"versions,omitempty"`
	EcosystemSpecific *specificJSON `json:"ecosystem_specific,omitempty"`
	DatabaseSpecific  *specificJSON `json:"database_specific,omitempty"`
}

type packageJSON struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	PURL      string `json:"purl,omitempty"`
}

type rangeJSON struct {
	Type   string      `json:"type"`
	Repo   string      `json:"repo,omitempty"`
	Events []eventJSON `json:"events"`
}

type eventJSON struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// specificJSON picks the severity words out of database_specific and
// ecosystem_specific objects, whose other keys each database defines.
type specificJSON struct {
	Severity json.RawMessage `json:"severity,omitempty"`
	Urgency  json.RawMessage `json:"urgency,omitempty"` // Debian
}

func (s *specificJSON) word() string {
	if s == nil {
		return ""
	}
	for _, raw := range []json.RawMessage{s.Severity, s.Urgency} {
		var w string
		if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &w) == nil && w != "" {
			return w
		}
	}
	return ""
}

// Decode reads one OSV advisory from JSON. A syntax error, a wrong type,
// a bad timestamp or a record that breaks the schema's rules (no id, an
// event with two versions, a range without introduced) is an EINVALID
// error saying where.
func Decode(data []byte) (vuln.Advisory, error) {
	var w advisoryJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return vuln.Advisory{}, jsonError(data, err)
	}
	return fromJSON(&w)
}

func fromJSON(w *advisoryJSON) (vuln.Advisory, error) {
	a := vuln.Advisory{
		ID:       w.ID,
		Aliases:  w.Aliases,
		Related:  w.Related,
		Upstream: w.Upstream,
		Summary:  w.Summary,
		Details:  w.Details,
		Severity: scores(w.Severity),
	}
	fe := mamori.FieldErrors{}
	for _, t := range []struct {
		field string
		in    string
		out   *time.Time
	}{{"modified", w.Modified, &a.Modified}, {"published", w.Published, &a.Published}, {"withdrawn", w.Withdrawn, &a.Withdrawn}} {
		if t.in == "" {
			continue
		}
		tm, err := time.Parse(time.RFC3339, t.in)
		if err != nil {
			fe.Addf(t.field, "%q is not an RFC 3339 time", t.in)
			continue
		}
		*t.out = tm.UTC()
	}
	a.DatabaseSeverity = w.DatabaseSpecific.word()
	for _, r := range w.References {
		a.References = append(a.References, vuln.Reference{Type: r.Type, URL: r.URL})
	}
	a.Affected = make([]vuln.Affected, 0, len(w.Affected))
	for _, af := range w.Affected {
		out := vuln.Affected{Versions: af.Versions, Severity: scores(af.Severity)}
		if af.Package != nil {
			out.Ecosystem, out.Name, out.PURL = af.Package.Ecosystem, af.Package.Name, af.Package.PURL
		}
		out.EcosystemSeverity = af.EcosystemSpecific.word()
		if out.EcosystemSeverity == "" {
			out.EcosystemSeverity = af.DatabaseSpecific.word()
		}
		for _, r := range af.Ranges {
			events := make([]vuln.Event, len(r.Events))
			for i, e := range r.Events {
				events[i] = vuln.Event(e)
			}
			out.Ranges = append(out.Ranges, vuln.Range{Type: vuln.RangeType(r.Type), Repo: r.Repo, Events: events})
		}
		a.Affected = append(a.Affected, out)
	}
	if err := fe.Err(); err != nil {
		return vuln.Advisory{}, err
	}
	if err := a.Validate(); err != nil {
		return vuln.Advisory{}, err
	}
	return a, nil
}

func scores(in []scoreJSON) []vuln.Score {
	if len(in) == 0 {
		return nil
	}
	out := make([]vuln.Score, len(in))
	for i, s := range in {
		out[i] = vuln.Score{Type: s.Type, Score: s.Score}
	}
	return out
}

// Encode writes an advisory as OSV JSON (schema 1.7), for export and for
// round-trip tests against the schema.
func Encode(a *vuln.Advisory) ([]byte, error) {
	w := advisoryJSON{
		SchemaVersion: "1.7.0",
		ID:            a.ID,
		Modified:      a.Modified.UTC().Format(time.RFC3339),
		Aliases:       a.Aliases,
		Related:       a.Related,
		Upstream:      a.Upstream,
		Summary:       a.Summary,
		Details:       a.Details,
	}
	if !a.Published.IsZero() {
		w.Published = a.Published.UTC().Format(time.RFC3339)
	}
	if a.IsWithdrawn() {
		w.Withdrawn = a.Withdrawn.UTC().Format(time.RFC3339)
	}
	for _, s := range a.Severity {
		w.Severity = append(w.Severity, scoreJSON(s))
	}
	if a.DatabaseSeverity != "" {
		raw, _ := json.Marshal(a.DatabaseSeverity)
		w.DatabaseSpecific = &specificJSON{Severity: raw}
	}
	for _, r := range a.References {
		w.References = append(w.References, referenceJSON(r))
	}
	for _, af := range a.Affected {
		out := affectedJSON{Versions: af.Versions}
		if af.Ecosystem != "" || af.Name != "" {
			out.Package = &packageJSON{Ecosystem: af.Ecosystem, Name: af.Name, PURL: af.PURL}
		}
		for _, s := range af.Severity {
			out.Severity = append(out.Severity, scoreJSON(s))
		}
		if af.EcosystemSeverity != "" {
			raw, _ := json.Marshal(af.EcosystemSeverity)
			out.EcosystemSpecific = &specificJSON{Severity: raw}
		}
		for _, r := range af.Ranges {
			events := make([]eventJSON, len(r.Events))
			for i, e := range r.Events {
				events[i] = eventJSON(e)
			}
			out.Ranges = append(out.Ranges, rangeJSON{Type: string(r.Type), Repo: r.Repo, Events: events})
		}
		w.Affected = append(w.Affected, out)
	}
	return json.MarshalIndent(&w, "", "  ")
}

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
	}
	return mamori.Wrap(mamori.EINVALID, err, "Invalid OSV JSON: "+strings.TrimPrefix(err.Error(), "json: ")+".")
}

func position(data []byte, offset int64) (line, col int) {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(offset) - bytes.LastIndexByte(before, '\n')
	return line, col
}
