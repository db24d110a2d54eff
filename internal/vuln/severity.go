package vuln

import (
	"fmt"
	"math"
	"strings"

	gocvss20 "github.com/pandatix/go-cvss/20"
	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"

	"github.com/mamori-dev/mamori"
)

// Level is a qualitative severity. Its order (Unknown lowest) drives
// --fail-on and sorting.
type Level int

const (
	LevelUnknown Level = iota // no score and no rating
	LevelNone                 // CVSS 0.0
	LevelLow
	LevelMedium
	LevelHigh
	LevelCritical
)

var levelNames = [...]string{"UNKNOWN", "NONE", "LOW", "MEDIUM", "HIGH", "CRITICAL"}

func (l Level) String() string {
	if l < 0 || int(l) >= len(levelNames) {
		return "UNKNOWN"
	}
	return levelNames[l]
}

// MarshalText writes the level's name.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// ParseLevel reads a level name (case-insensitive). "moderate" (GitHub's
// word) is MEDIUM.
func ParseLevel(s string) (Level, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "UNKNOWN", "ANY":
		return LevelUnknown, nil
	case "NONE":
		return LevelNone, nil
	case "LOW":
		return LevelLow, nil
	case "MEDIUM", "MODERATE":
		return LevelMedium, nil
	case "HIGH":
		return LevelHigh, nil
	case "CRITICAL":
		return LevelCritical, nil
	}
	return LevelUnknown, mamori.Errorf(mamori.EINVALID, "%q is not a severity level (unknown, low, medium, high, critical).", s)
}

// Severity is the severity of a finding: the level, and the CVSS score
// and vector it came from when there is one.
type Severity struct {
	Level  Level
	Score  float64 // CVSS base score; 0 with Vector "" when none
	Vector string
	// Source says what decided it: "CVSS_V4", "CVSS_V3", "CVSS_V2",
	// "database_specific", "ecosystem_specific", "Ubuntu" or "".
	Source string
}

// CVSS computes the base score of a CVSS 2.0, 3.0, 3.1 or 4.0 vector with
// go-cvss and rates it (CVSS v3/v4 rating scale; v2 has no Critical).
func CVSS(vector string) (score float64, level Level, err error) {
	vector = strings.TrimSpace(vector)
	switch {
	case strings.HasPrefix(vector, "CVSS:4.0/"):
		v, err := gocvss40.ParseVector(vector)
		if err != nil {
			return 0, LevelUnknown, fmt.Errorf("CVSS 4.0 vector %q: %w", vector, err)
		}
		score = v.Score()
	case strings.HasPrefix(vector, "CVSS:3.1/"):
		v, err := gocvss31.ParseVector(vector)
		if err != nil {
			return 0, LevelUnknown, fmt.Errorf("CVSS 3.1 vector %q: %w", vector, err)
		}
		score = v.BaseScore()
	case strings.HasPrefix(vector, "CVSS:3.0/"):
		v, err := gocvss30.ParseVector(vector)
		if err != nil {
			return 0, LevelUnknown, fmt.Errorf("CVSS 3.0 vector %q: %w", vector, err)
		}
		score = v.BaseScore()
	default:
		v, err := gocvss20.ParseVector(vector)
		if err != nil {
			return 0, LevelUnknown, fmt.Errorf("CVSS vector %q: %w", vector, err)
		}
		score = v.BaseScore()
		return score, v2Level(score), nil
	}
	return score, rate(score), nil
}

func rate(score float64) Level {
	// Scores are one decimal; compare on tenths to avoid float noise.
	t := math.Round(score * 10)
	switch {
	case t >= 90:
		return LevelCritical
	case t >= 70:
		return LevelHigh
	case t >= 40:
		return LevelMedium
	case t >= 1:
		return LevelLow
	}
	return LevelNone
}

func v2Level(score float64) Level {
	t := math.Round(score * 10)
	switch {
	case t >= 70:
		return LevelHigh
	case t >= 40:
		return LevelMedium
	case t >= 1:
		return LevelLow
	}
	return LevelNone
}

// wordLevel maps the severity words databases use to a level: GitHub's
// LOW/MODERATE/HIGH/CRITICAL, Ubuntu priorities and Debian urgencies.
func wordLevel(w string) Level {
	w = strings.ToLower(strings.TrimSpace(strings.TrimRight(w, "*")))
	switch w {
	case "critical":
		return LevelCritical
	case "high", "important":
		return LevelHigh
	case "medium", "moderate":
		return LevelMedium
	case "low", "negligible", "unimportant":
		return LevelLow
	}
	return LevelUnknown
}

// severityOf decides a finding's severity for affected entry af of a:
// the package's own scores first (OSV says they replace the top-level
// ones), then the advisory's; within them CVSS v4, then v3, then v2 (the
// newest method the database gave); then textual ratings. Unparseable
// vectors are skipped.
func severityOf(a *Advisory, af *Affected) Severity {
	for _, scores := range [][]Score{af.Severity, a.Severity} {
		for _, typ := range []string{"CVSS_V4", "CVSS_V3", "CVSS_V2"} {
			for _, s := range scores {
				if s.Type != typ {
					continue
				}
				score, level, err := CVSS(s.Score)
				if err != nil {
					continue
				}
				return Severity{Level: level, Score: score, Vector: s.Score, Source: typ}
			}
		}
		for _, s := range scores {
			if s.Type == "Ubuntu" {
				if l := wordLevel(s.Score); l != LevelUnknown {
					return Severity{Level: l, Source: "Ubuntu"}
				}
			}
		}
	}
	if l := wordLevel(af.EcosystemSeverity); l != LevelUnknown {
		return Severity{Level: l, Source: "ecosystem_specific"}
	}
	if l := wordLevel(a.DatabaseSeverity); l != LevelUnknown {
		return Severity{Level: l, Source: "database_specific"}
	}
	return Severity{}
}
