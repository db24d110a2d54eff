package control

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mamori-dev/mamori"
)

// maxProblems caps the problems one validation reports, so that a foreign
// catalog missing a language everywhere gives a readable error.
const maxProblems = 50

// problems collects validation problems up to maxProblems.
type problems struct {
	f    mamori.FieldErrors
	more int
}

func (p *problems) add(field, format string, args ...any) {
	if _, seen := p.f[field]; seen {
		return
	}
	if len(p.f) >= maxProblems {
		p.more++
		return
	}
	p.f.Addf(field, format, args...)
}

func (p *problems) err(what string) error {
	if len(p.f) == 0 {
		return nil
	}
	if p.more > 0 {
		p.f["…"] = fmt.Sprintf("%d more problems not shown", p.more)
	}
	e := p.f.Err().(*mamori.Error)
	e.Message = what
	return e
}

// Validate checks the catalog on its own: the header, unique and well-formed
// IDs, node kinds and tiers, text in every required language, frequencies,
// applicability, related items, groups and mapping sources. It indexes the
// catalog for Node, Parent and Path. Mapping targets need the other
// catalogs: see ValidateMappings. Problems are reported as one EINVALID
// error whose fields name each node ("nodes[FSA-CSGL-2.2.3-B03].text.en").
func (c *Catalog) Validate() error {
	p := &problems{f: mamori.FieldErrors{}}
	c.validateHeader(p)
	c.validateNodes(p)
	c.validateMappingSources(p)
	c.reindex()
	return p.err(fmt.Sprintf("Catalog %s is not valid.", c.label()))
}

func (c *Catalog) label() string {
	if c.Framework.ID == "" {
		return "(no id)"
	}
	return c.Key()
}

func (c *Catalog) validateHeader(p *problems) {
	if !ValidFrameworkID(c.Framework.ID) {
		p.add("framework.id", "must be a lower-case slug of letters, digits, dots and dashes, like fsa-csgl")
	}
	if len(c.Languages) == 0 {
		p.add("languages", "at least one language is required")
	}
	for i, l := range c.Languages {
		if !langPattern.MatchString(l) {
			p.add(fmt.Sprintf("languages[%d]", i), "%q is not a language tag like ja or en", l)
		} else if slices.Index(c.Languages, l) != i {
			p.add(fmt.Sprintf("languages[%d]", i), "%q is listed twice", l)
		}
	}
	c.requireLine(p, "framework.name", c.Framework.Name, true)
	c.checkLine(p, "framework.publisher", c.Framework.Publisher)
	c.checkText(p, "framework.description", c.Framework.Description)
	if _, err := time.Parse(time.DateOnly, c.Edition.Date); err != nil {
		p.add("edition.date", "must be a date like 2025-07-04")
	}
	if c.Edition.SourceURL != "" && (strings.ContainsAny(c.Edition.SourceURL, " \t\r\n") || !strings.Contains(c.Edition.SourceURL, ":")) {
		p.add("edition.source_url", "must be an absolute URL")
	}
	c.checkText(p, "edition.licence", c.Edition.Licence)
	c.checkText(p, "edition.notes", c.Edition.Notes)
	for i, h := range c.Edition.History {
		f := fmt.Sprintf("edition.history[%d]", i)
		if _, err := time.Parse(time.DateOnly, h.Date); err != nil {
			p.add(f+".date", "must be a date like 2024-10-04")
		}
		c.requireLine(p, f+".note", h.Note, false)
	}
	seen := map[string]bool{}
	for i, k := range c.Conditions {
		f := fmt.Sprintf("conditions[%d]", i)
		if !ValidToken(k.ID) {
			p.add(f+".id", "must be a token of letters, digits, dots, dashes and underscores")
		} else if seen[k.ID] {
			p.add(f+".id", "%q is declared twice", k.ID)
		}
		seen[k.ID] = true
		c.requireLine(p, f+".title", k.Title, true)
		c.checkLine(p, f+".description", k.Description)
	}
	seen = map[string]bool{}
	for i, g := range c.Groups {
		f := fmt.Sprintf("groups[%d]", i)
		if !ValidToken(g.ID) {
			p.add(f+".id", "must be a token of letters, digits, dots, dashes and underscores")
		} else if seen[g.ID] {
			p.add(f+".id", "%q is declared twice", g.ID)
		}
		seen[g.ID] = true
		c.requireLine(p, f+".title", g.Title, false)
		c.checkLine(p, f+".description", g.Description)
	}
}

func (c *Catalog) validateNodes(p *problems) {
	if len(c.Nodes) == 0 {
		p.add("nodes", "the catalog has no requirements")
	}
	conds := map[string]bool{}
	for _, k := range c.Conditions {
		conds[k.ID] = true
	}
	groups := map[string]bool{}
	for _, g := range c.Groups {
		groups[g.ID] = true
	}
	ids := map[string]bool{}
	_ = c.Walk(func(n, _ *Node, _ int) error {
		if n.ID != "" {
			ids[n.ID] = true
		}
		return nil
	})
	seen := map[string]bool{}
	var visit func(nodes []*Node, path string, parent *Node, inArea bool)
	visit = func(nodes []*Node, path string, parent *Node, inArea bool) {
		for i, n := range nodes {
			f := fmt.Sprintf("%s[%d]", path, i)
			if n == nil {
				p.add(f, "is empty")
				continue
			}
			if ValidToken(n.ID) {
				f = "nodes[" + n.ID + "]"
			}
			switch {
			case n.ID == "":
				p.add(f+".id", "is required")
			case !ValidToken(n.ID):
				p.add(f+".id", "%q must start with a letter and hold only letters, digits, dots, dashes and underscores", n.ID)
			case seen[n.ID]:
				p.add(f+".id", "is used by more than one node")
			}
			seen[n.ID] = true
			c.validateNode(p, f, n, parent, inArea, conds, groups, ids)
			visit(n.Children, f+".children", n, inArea || n.Area)
		}
	}
	visit(c.Nodes, "nodes", nil, false)
}

func (c *Catalog) validateNode(p *problems, f string, n, parent *Node, inArea bool, conds, groups, ids map[string]bool) {
	switch n.Kind {
	case KindSection:
		if n.Tier != "" {
			p.add(f+".tier", "only items have a tier")
		}
		if parent != nil && parent.Kind == KindItem {
			p.add(f+".kind", "a section cannot be inside an item")
		}
	case KindItem:
		if n.Area {
			p.add(f+".area", "only sections can be areas")
		}
		switch {
		case c.Tiered && n.Tier == "":
			p.add(f+".tier", "is required in a tiered catalog (basic or desirable)")
		case c.Tiered && n.Tier != TierBasic && n.Tier != TierDesirable:
			p.add(f+".tier", "%q must be basic or desirable", n.Tier)
		case !c.Tiered && n.Tier != "":
			p.add(f+".tier", "the catalog is not tiered")
		}
		c.requireText(p, f+".text", n.Text)
	default:
		p.add(f+".kind", "%q must be section or item", n.Kind)
	}
	if n.Area && inArea {
		p.add(f+".area", "areas cannot be nested")
	}
	if strings.ContainsAny(n.Ref, "\r\n") || strings.TrimSpace(n.Ref) != n.Ref {
		p.add(f+".ref", "must be one line without surrounding spaces")
	}
	c.requireLine(p, f+".title", n.Title, true)
	c.checkText(p, f+".text", n.Text)
	c.checkText(p, f+".guidance", n.Guidance)
	c.checkText(p, f+".assumed_risk", n.AssumedRisk)
	for i, t := range n.EvidenceHints {
		c.requireText(p, fmt.Sprintf("%s.evidence_hints[%d]", f, i), t)
	}
	for i, t := range n.Measures {
		c.requireText(p, fmt.Sprintf("%s.example_measures[%d]", f, i), t)
	}
	for i, t := range n.BadExamples {
		c.requireText(p, fmt.Sprintf("%s.bad_examples[%d]", f, i), t)
	}
	if n.Freq != nil {
		fr := n.Freq
		if fr.Every.IsZero() && !fr.Periodic && !fr.Continuous && len(fr.On) == 0 {
			p.add(f+".frequency", "is empty")
		}
		if !fr.Every.IsZero() && fr.Periodic {
			p.add(f+".frequency", "give either every (a stated interval) or periodic, not both")
		}
		if !fr.Every.IsZero() && (fr.Every.N <= 0 || !strings.ContainsRune("DWMY", rune(fr.Every.Unit))) {
			p.add(f+".frequency.every", "is not a valid interval")
		}
		for i, t := range fr.On {
			if _, ok := Triggers[t]; !ok {
				p.add(fmt.Sprintf("%s.frequency.on[%d]", f, i), "%q is not a known trigger", t)
			}
		}
	}
	for i, a := range n.Applicability {
		af := fmt.Sprintf("%s.applicability[%d]", f, i)
		if !conds[a.Condition] {
			p.add(af+".condition", "%q is not declared in conditions", a.Condition)
		}
		if a.Scope != ScopeOnly && a.Scope != ScopeClause {
			p.add(af+".scope", "%q must be only or clause", a.Scope)
		}
	}
	for i, r := range n.Related {
		rf := fmt.Sprintf("%s.related[%d]", f, i)
		switch {
		case r == n.ID:
			p.add(rf, "a node cannot be related to itself")
		case !ids[r]:
			p.add(rf, "%q is not a node of this catalog", r)
		}
	}
	for i, g := range n.Groups {
		if !groups[g] {
			p.add(fmt.Sprintf("%s.groups[%d]", f, i), "%q is not declared in groups", g)
		}
	}
	if strings.ContainsAny(n.ExternalID, "\r\n") {
		p.add(f+".external_id", "must be one line")
	}
}

func (c *Catalog) validateMappingSources(p *problems) {
	ids := map[string]bool{}
	_ = c.Walk(func(n, _ *Node, _ int) error { ids[n.ID] = true; return nil })
	type key struct{ s, tc, t string }
	seen := map[key]bool{}
	for i, m := range c.Mappings {
		f := fmt.Sprintf("mappings[%d]", i)
		if !ids[m.Source] {
			p.add(f+".source", "%q is not a node of this catalog", m.Source)
		}
		if !ValidFrameworkID(m.TargetCatalog) {
			p.add(f+".target_catalog", "%q is not a framework id", m.TargetCatalog)
		}
		if !ValidToken(m.Target) {
			p.add(f+".target", "%q is not a node id", m.Target)
		}
		if !slices.Contains(Relationships, m.Relationship) {
			p.add(f+".relationship", "%q must be equal, subset, superset or intersect", m.Relationship)
		}
		k := key{m.Source, m.TargetCatalog, m.Target}
		if seen[k] {
			p.add(f, "maps %s to %s:%s a second time", m.Source, m.TargetCatalog, m.Target)
		}
		seen[k] = true
		c.checkLine(p, f+".note", m.Note)
	}
}

// Resolver finds catalogs by framework ID; a Library is one, and the store
// will be another.
type Resolver interface {
	Catalog(id string) (*Catalog, error)
}

// ValidateMappings checks that every mapping target exists in the catalog
// r resolves for it.
func ValidateMappings(c *Catalog, r Resolver) error {
	p := &problems{f: mamori.FieldErrors{}}
	for i, m := range c.Mappings {
		f := fmt.Sprintf("mappings[%d]", i)
		t, err := r.Catalog(m.TargetCatalog)
		if err != nil {
			p.add(f+".target_catalog", "catalog %q is not available", m.TargetCatalog)
			continue
		}
		if !t.Has(m.Target) {
			p.add(f+".target", "catalog %s has no node %q", m.TargetCatalog, m.Target)
		}
	}
	return p.err(fmt.Sprintf("Mappings of catalog %s do not resolve.", c.label()))
}

// requireLine checks a one-line text (titles). all demands every required
// language; otherwise the primary language is enough.
func (c *Catalog) requireLine(p *problems, f string, t Text, all bool) {
	c.requireLangs(p, f, t, all)
	c.checkLine(p, f, t)
}

// requireText checks a text that must be given in every required language.
func (c *Catalog) requireText(p *problems, f string, t Text) {
	c.requireLangs(p, f, t, true)
	c.checkText(p, f, t)
}

func (c *Catalog) requireLangs(p *problems, f string, t Text, all bool) {
	langs := c.Languages
	if !all && len(langs) > 1 {
		langs = langs[:1]
	}
	for _, l := range langs {
		if strings.TrimSpace(t[l]) == "" {
			p.add(f+"."+l, "is required")
		}
	}
}

// checkText checks the languages and values present in an optional text.
func (c *Catalog) checkText(p *problems, f string, t Text) {
	for _, l := range t.Languages() {
		switch s := t[l]; {
		case !langPattern.MatchString(l):
			p.add(f+"."+l, "%q is not a language tag like ja or en", l)
		case !utf8.ValidString(s):
			p.add(f+"."+l, "is not valid UTF-8")
		case strings.TrimFunc(s, unicode.IsSpace) != s:
			p.add(f+"."+l, "has leading or trailing spaces")
		case s == "":
			p.add(f+"."+l, "is empty; leave the language out instead")
		}
	}
}

// checkLine is checkText for texts that must fit on one line (titles,
// notes): OSCAL carries them in properties, which cannot hold line breaks.
func (c *Catalog) checkLine(p *problems, f string, t Text) {
	c.checkText(p, f, t)
	for _, l := range t.Languages() {
		if strings.ContainsAny(t[l], "\r\n") {
			p.add(f+"."+l, "must be one line")
		}
	}
}
