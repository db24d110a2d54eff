// Package vuln is the vulnerability domain: advisories (OSV's model, which
// the NVD, KEV, JVN and EPSS adapters enrich), matching of SBOM components
// against them with each ecosystem's own version rules, severity from CVSS
// vectors, and findings that are re-matched incrementally when SBOMs or
// advisories change.
package vuln

import (
	"fmt"
	"strings"
	"time"

	"github.com/mamori-dev/mamori"
)

// Advisory is one vulnerability record in the OSV model. Fields beyond
// what matching needs (summary, references, dates) are kept so that other
// sources can enrich the same record and the UI can show it.
type Advisory struct {
	ID        string   // the entry's own ID: GO-2022-0588, RUSTSEC-2021-0003, GHSA-…
	Aliases   []string // IDs of the same vulnerability elsewhere (CVE, GHSA…)
	Related   []string // closely related but different vulnerabilities
	Upstream  []string
	Summary   string
	Details   string // CommonMark
	Published time.Time
	Modified  time.Time
	Withdrawn time.Time // zero unless withdrawn; withdrawn advisories never match
	// Severity is the entry's own scores (OSV top-level severity).
	Severity []Score
	// DatabaseSeverity is a textual severity some databases give in
	// database_specific.severity (GitHub: LOW, MODERATE, HIGH, CRITICAL).
	DatabaseSeverity string
	Affected         []Affected
	References       []Reference
	// Source names where the record came from (a file or feed), for
	// messages and provenance.
	Source string
}

// Affected is one affected package with its versions.
type Affected struct {
	Ecosystem string // OSV ecosystem, with its suffix: "Go", "Debian:12", "Alpine:v3.18"
	Name      string // package name as the ecosystem writes it
	PURL      string // optional, without version
	Ranges    []Range
	Versions  []string
	// Severity is this package's own scores (OSV affected[].severity).
	Severity []Score
	// EcosystemSeverity is a textual severity from ecosystem_specific or
	// database_specific (Debian urgency, a database's severity word).
	EcosystemSeverity string
}

// RangeType is how a range's event versions are ordered.
type RangeType string

const (
	RangeSemver    RangeType = "SEMVER"
	RangeEcosystem RangeType = "ECOSYSTEM"
	RangeGit       RangeType = "GIT"
)

// Range is one OSV range: a timeline of events.
type Range struct {
	Type   RangeType
	Repo   string
	Events []Event
}

// Event is one point on a range's timeline; exactly one field is set.
type Event struct {
	Introduced   string
	Fixed        string
	LastAffected string
	Limit        string
}

// Score is one severity score: a CVSS vector or a rating word.
type Score struct {
	Type  string // CVSS_V2, CVSS_V3, CVSS_V4, Ubuntu
	Score string // the vector, or the word for Ubuntu
}

// Reference is a link about the vulnerability.
type Reference struct {
	Type string // ADVISORY, ARTICLE, FIX, PACKAGE, REPORT, WEB…
	URL  string
}

// IsWithdrawn reports whether the advisory has been withdrawn.
func (a *Advisory) IsWithdrawn() bool { return !a.Withdrawn.IsZero() }

// Validate checks what matching relies on. It names the field and why.
func (a *Advisory) Validate() error {
	fe := mamori.FieldErrors{}
	if strings.TrimSpace(a.ID) == "" {
		fe.Add("id", "is missing")
	}
	for i, af := range a.Affected {
		p := fmt.Sprintf("affected[%d]", i)
		git := false
		for _, r := range af.Ranges {
			git = git || r.Type == RangeGit
		}
		if af.Ecosystem == "" && !git {
			fe.Add(p+".package.ecosystem", "is missing")
		}
		if af.Name == "" && !git {
			fe.Add(p+".package.name", "is missing")
		}
		for j, r := range af.Ranges {
			rp := fmt.Sprintf("%s.ranges[%d]", p, j)
			switch r.Type {
			case RangeSemver, RangeEcosystem, RangeGit:
			default:
				fe.Addf(rp+".type", "%q is not SEMVER, ECOSYSTEM or GIT", r.Type)
			}
			introduced := false
			for k, e := range r.Events {
				n := 0
				for _, v := range []string{e.Introduced, e.Fixed, e.LastAffected, e.Limit} {
					if v != "" {
						n++
					}
				}
				if n != 1 {
					fe.Addf(fmt.Sprintf("%s.events[%d]", rp, k), "must have exactly one of introduced, fixed, last_affected, limit")
				}
				introduced = introduced || e.Introduced != ""
			}
			if !introduced {
				fe.Add(rp+".events", "must contain an introduced event")
			}
		}
	}
	return fe.Err()
}
