// Package control holds control catalogs: frameworks and their editions, the
// tree of requirement nodes (sections and assessable items) with tiers,
// bilingual text, frequencies, applicability conditions and evidence hints,
// and mappings between frameworks. It ships the FSA cybersecurity guideline,
// the FSA's 2022 advisory and a FinTech checkpoint catalog as embedded data
// files (see Shipped), validates any catalog, and turns stated frequencies
// into due dates.
//
// A Catalog is a plain value: decode or build it, call Validate (which also
// indexes it), then treat it as read-only. Outside formats (OSCAL, CISO
// Assistant) live in internal/format and produce validated catalogs.
package control

import (
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
)

// Catalog is one edition of one framework: its header, the requirement tree
// and its mappings into other catalogs.
type Catalog struct {
	Framework Framework `json:"framework"`
	Edition   Edition   `json:"edition"`
	// Languages are the languages every title and item text must be given
	// in. The first is the primary language (the one outside formats put in
	// their single-language fields).
	Languages []string `json:"languages"`
	// Tiered catalogs give every item a tier (basic or desirable), as the
	// FSA guideline does with 基本的な対応事項 and 対応が望ましい事項.
	Tiered bool `json:"tiered,omitempty"`
	// Conditions declares the applicability tags nodes may use.
	Conditions []Condition `json:"conditions,omitempty"`
	// Groups declares implementation groups (CISO Assistant's
	// implementation_groups, e.g. ANSSI's standard and reinforced).
	Groups   []Group   `json:"groups,omitempty"`
	Nodes    []*Node   `json:"nodes"`
	Mappings []Mapping `json:"mappings,omitempty"`

	// idx is built by Validate (or on first lookup) and swapped atomically,
	// so that a shared catalog can be validated, exported and queried from
	// several goroutines at once.
	idx atomic.Pointer[index]
}

type index struct {
	node   map[string]*Node
	parent map[string]*Node
}

// Framework identifies a body of requirements independent of its edition.
type Framework struct {
	// ID is a lower-case slug ("fsa-csgl"), stable across editions.
	ID          string `json:"id"`
	Name        Text   `json:"name"`
	Publisher   Text   `json:"publisher,omitempty"`
	Description Text   `json:"description,omitempty"`
}

// Edition records which text of the framework the catalog follows.
type Edition struct {
	// Date is the edition's date (YYYY-MM-DD): for the FSA guideline the
	// date of the amended text (改正日).
	Date      string `json:"date"`
	Version   string `json:"version,omitempty"`
	SourceURL string `json:"source_url,omitempty"`
	// Licence says under which terms the catalog text may be used.
	Licence Text `json:"licence,omitempty"`
	// Notes are caveats a reviewer must know (e.g. disputed item counts).
	Notes   Text          `json:"notes,omitempty"`
	History []EditionNote `json:"history,omitempty"`
}

// EditionNote is a one-line remark about another edition of the framework.
type EditionNote struct {
	Date string `json:"date"`
	Note Text   `json:"note"`
}

// Condition is an applicability tag a catalog declares, e.g. "fmi" for
// financial market infrastructures (清算・振替機関等).
type Condition struct {
	ID          string `json:"id"`
	Title       Text   `json:"title"`
	Description Text   `json:"description,omitempty"`
}

// Group is an implementation group a catalog declares.
type Group struct {
	ID          string `json:"id"`
	Title       Text   `json:"title"`
	Description Text   `json:"description,omitempty"`
}

// Kind tells sections from assessable items.
type Kind string

const (
	// KindSection is a heading that groups nodes; it is not assessed.
	KindSection Kind = "section"
	// KindItem is an assessable requirement. Items may hold child items
	// (OSCAL control enhancements) but never sections.
	KindItem Kind = "item"
)

// Tier ranks an item in a tiered catalog.
type Tier string

const (
	TierBasic     Tier = "basic"     // 基本的な対応事項 (basic measures)
	TierDesirable Tier = "desirable" // 対応が望ましい事項 (desirable measures)
)

// Tiers lists the tiers in order.
var Tiers = []Tier{TierBasic, TierDesirable}

// Scope says how far an applicability condition reaches.
type Scope string

const (
	// ScopeOnly: the whole node applies only when the condition holds.
	ScopeOnly Scope = "only"
	// ScopeClause: the node applies to everyone, but one clause of it
	// applies only when the condition holds.
	ScopeClause Scope = "clause"
)

// Applicability ties a node to a declared condition.
type Applicability struct {
	Condition string `json:"condition"`
	Scope     Scope  `json:"scope"`
}

// Node is a section or an item of the requirement tree.
type Node struct {
	// ID is stable across editions while the requirement keeps its meaning,
	// e.g. "FSA-CSGL-2.2.3-B03" for basic item ③ of section 2.2.3.
	ID   string `json:"id"`
	Kind Kind   `json:"kind"`
	// Ref is the reference printed in the source: "2.2.3" for a section,
	// "③" or "a" for an item, "AC-2(1)" in NIST SP 800-53.
	Ref string `json:"ref,omitempty"`
	// Area marks the sections that progress reports break down by (the six
	// areas 2.1–2.6 of the FSA guideline). Without any, top-level nodes are
	// the areas.
	Area  bool `json:"area,omitempty"`
	Tier  Tier `json:"tier,omitempty"`
	Title Text `json:"title"`
	// Text is the requirement (items) or an introduction (sections).
	Text     Text       `json:"text,omitempty"`
	Guidance Text       `json:"guidance,omitempty"`
	Freq     *Frequency `json:"frequency,omitempty"`
	// Applicability lists conditions; none means the node always applies.
	Applicability []Applicability `json:"applicability,omitempty"`
	EvidenceHints []Text          `json:"evidence_hints,omitempty"`
	// AssumedRisk (想定リスク), Measures (対策事例) and BadExamples (悪例)
	// are the parts of a checkpoint in the FinTech style.
	AssumedRisk Text   `json:"assumed_risk,omitempty"`
	Measures    []Text `json:"example_measures,omitempty"`
	BadExamples []Text `json:"bad_examples,omitempty"`
	// Related lists IDs of nodes in the same catalog.
	Related []string `json:"related,omitempty"`
	// Groups lists implementation group IDs declared by the catalog.
	Groups []string `json:"groups,omitempty"`
	// ExternalID keeps the identifier the node had in the format it was
	// imported from (a CISO Assistant URN), when it differs from ID.
	ExternalID string  `json:"external_id,omitempty"`
	Children   []*Node `json:"children,omitempty"`
}

// Assessable reports whether n is an item.
func (n *Node) Assessable() bool { return n.Kind == KindItem }

// AppliesAlways reports whether no condition limits the whole node.
func (n *Node) AppliesAlways() bool {
	for _, a := range n.Applicability {
		if a.Scope == ScopeOnly {
			return false
		}
	}
	return true
}

// Relationship says how a mapping's source relates to its target, in the
// set-theory terms of NIST OLIR and CISO Assistant.
type Relationship string

const (
	RelEqual     Relationship = "equal"     // same requirement
	RelSubset    Relationship = "subset"    // the source asks for part of what the target asks
	RelSuperset  Relationship = "superset"  // the source asks for more than the target
	RelIntersect Relationship = "intersect" // they overlap; neither contains the other
)

// Relationships lists the valid relationships.
var Relationships = []Relationship{RelEqual, RelSubset, RelSuperset, RelIntersect}

// Mapping links a node of this catalog to a node of another catalog.
type Mapping struct {
	Source        string       `json:"source"`
	TargetCatalog string       `json:"target_catalog"`
	Target        string       `json:"target"`
	Relationship  Relationship `json:"relationship"`
	Note          Text         `json:"note,omitempty"`
}

// Key returns the catalog's key: framework ID and edition date, e.g.
// "fsa-csgl@2025-07-04".
func (c *Catalog) Key() string { return c.Framework.ID + "@" + c.Edition.Date }

// PrimaryLanguage returns the first language, or "en".
func (c *Catalog) PrimaryLanguage() string {
	if len(c.Languages) == 0 {
		return "en"
	}
	return c.Languages[0]
}

// EditionTime returns the edition date as a time at UTC midnight.
func (c *Catalog) EditionTime() (time.Time, error) {
	return time.Parse(time.DateOnly, c.Edition.Date)
}

var (
	frameworkIDPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$`)
	// Node, condition and group IDs are OSCAL tokens restricted to ASCII,
	// so that every catalog exports to OSCAL unchanged.
	tokenPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9._-]*$`)
	langPattern  = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)
)

// ValidToken reports whether s can be used as a node, condition or group ID.
func ValidToken(s string) bool { return len(s) <= 200 && tokenPattern.MatchString(s) }

// ValidFrameworkID reports whether s can be used as a framework ID.
func ValidFrameworkID(s string) bool { return len(s) <= 100 && frameworkIDPattern.MatchString(s) }

// Slug turns a free name ("NIST SP 800-53 Rev. 5") into a framework ID
// ("nist-sp-800-53-rev-5"). Non-ASCII letters are dropped.
func Slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
			dash = false
		case r == '.' && !dash && b.Len() > 0:
			b.WriteRune(r)
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	out := strings.Trim(b.String(), "-.")
	out = strings.ReplaceAll(out, ".-", "-")
	out = strings.ReplaceAll(out, "-.", "-")
	if len(out) > 100 {
		out = strings.Trim(out[:100], "-.")
	}
	return out
}

// Text is a string in several languages, keyed by BCP 47 tag ("ja", "en").
type Text map[string]string

// Get returns the text in lang, falling back to English, then Japanese, then
// any language (in tag order, so the choice is stable).
func (t Text) Get(lang string) string {
	if s, ok := t[lang]; ok && s != "" {
		return s
	}
	for _, l := range []string{"en", "ja"} {
		if s, ok := t[l]; ok && s != "" {
			return s
		}
	}
	for _, l := range t.Languages() {
		if t[l] != "" {
			return t[l]
		}
	}
	return ""
}

// Languages returns the tags present, sorted.
func (t Text) Languages() []string {
	out := make([]string, 0, len(t))
	for l := range t {
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

// IsZero reports whether no language has text.
func (t Text) IsZero() bool {
	for _, s := range t {
		if s != "" {
			return false
		}
	}
	return true
}
