package oscal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	oscaltypes "github.com/defenseunicorns/go-oscal/src/types/oscal-1-1-3"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/control"
)

// ImportOptions tune Decode for catalogs that do not carry mamori's
// properties (those written by others).
type ImportOptions struct {
	// ID is the framework ID to use; default: mamori's framework-id
	// property, else a slug of the title.
	ID string
	// Lang is the language of the catalog's text; default: mamori's lang
	// property, else "en".
	Lang string
	// EditionDate overrides the edition date (YYYY-MM-DD); default:
	// mamori's edition-date property, else metadata.published, else
	// metadata.last-modified.
	EditionDate string
}

// Decode reads an OSCAL catalog JSON document (OSCAL 1.0 or 1.1) and returns
// a validated catalog. A catalog exported by mamori comes back whole; one
// written by others keeps its groups, controls and enhancements, labels,
// statements (parameters shown as NIST prints them: "[Assignment: …]"),
// guidance and related-control links. Withdrawn controls are left out.
func Decode(data []byte, opt ImportOptions) (*control.Catalog, error) {
	if len(data) > control.MaxDocumentSize {
		return nil, mamori.Errorf(mamori.ETOOLARGE, "The catalog file is larger than %d MiB.", control.MaxDocumentSize>>20)
	}
	var doc oscaltypes.OscalModels
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, jsonError(data, err)
	}
	if doc.Catalog == nil {
		return nil, mamori.Errorf(mamori.EINVALID, "The file is not an OSCAL catalog: %s.", describeModel(doc))
	}
	im := &importer{doc: doc.Catalog, opt: opt, params: map[string]oscaltypes.Parameter{}}
	c, err := im.catalog()
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func describeModel(doc oscaltypes.OscalModels) string {
	switch {
	case doc.Profile != nil:
		return "it is an OSCAL profile; resolve it into a catalog first"
	case doc.SystemSecurityPlan != nil:
		return "it is a system security plan"
	case doc.ComponentDefinition != nil:
		return "it is a component definition"
	case doc.AssessmentPlan != nil, doc.AssessmentResults != nil, doc.PlanOfActionAndMilestones != nil:
		return "it is an assessment document"
	}
	return `it has no top-level "catalog" object`
}

func jsonError(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tim *time.ParseError
	switch {
	case errors.As(err, &syn):
		line, col := control.LineCol(data, syn.Offset-1)
		return mamori.Wrap(mamori.EINVALID, err, fmt.Sprintf("The file is not valid JSON at line %d, column %d: %s.", line, col, syn.Error()))
	case errors.As(err, &typ):
		line, col := control.LineCol(data, typ.Offset)
		return mamori.Wrap(mamori.EINVALID, err, fmt.Sprintf("At line %d, column %d, OSCAL field %q must be %s, not %s.", line, col, typ.Field, typ.Type, typ.Value))
	case errors.As(err, &tim):
		return mamori.Wrap(mamori.EINVALID, err, fmt.Sprintf("A date in the OSCAL metadata is not a valid date-time: %q.", tim.Value))
	}
	return mamori.Wrap(mamori.EINVALID, err, "The file is not a valid OSCAL document.")
}

type importer struct {
	doc    *oscaltypes.Catalog
	opt    ImportOptions
	lang   string
	params map[string]oscaltypes.Parameter
	ids    map[string]bool
	seq    int
	// mappings keyed by their group token, to keep the exported order.
	mappings map[int]control.Mapping
}

func nsProps(props *[]oscaltypes.Property, name string) []oscaltypes.Property {
	if props == nil {
		return nil
	}
	var out []oscaltypes.Property
	for _, p := range *props {
		if p.Ns == NS && p.Name == name {
			out = append(out, p)
		}
	}
	return out
}

func nsProp(props *[]oscaltypes.Property, name string) string {
	if ps := nsProps(props, name); len(ps) > 0 {
		return ps[0].Value
	}
	return ""
}

// textOf gathers the class-tagged props of one name (and group) into a Text.
func textOf(props *[]oscaltypes.Property, name, group string) control.Text {
	t := control.Text{}
	for _, p := range nsProps(props, name) {
		if p.Group == group && p.Class != "" {
			t[p.Class] = p.Value
		}
	}
	if len(t) == 0 {
		return nil
	}
	return t
}

func (im *importer) catalog() (*control.Catalog, error) {
	md := im.doc.Metadata
	im.lang = nsProp(md.Props, "lang")
	if im.lang == "" {
		im.lang = im.opt.Lang
	}
	if im.lang == "" {
		im.lang = "en"
	}
	c := &control.Catalog{}
	c.Framework.ID = im.opt.ID
	if c.Framework.ID == "" {
		c.Framework.ID = nsProp(md.Props, "framework-id")
	}
	if c.Framework.ID == "" {
		c.Framework.ID = control.Slug(md.Title)
	}
	c.Framework.Name = textOf(md.Props, "name", "")
	if c.Framework.Name == nil {
		c.Framework.Name = control.Text{}
	}
	if _, ok := c.Framework.Name[im.lang]; !ok {
		c.Framework.Name[im.lang] = oneLine(md.Title)
	}
	c.Framework.Publisher = textOf(md.Props, "publisher", "")
	if c.Framework.Publisher == nil {
		c.Framework.Publisher = im.publisher()
	}
	for _, p := range nsProps(md.Props, "language") {
		c.Languages = append(c.Languages, p.Value)
	}
	if len(c.Languages) == 0 {
		c.Languages = []string{im.lang}
	}
	c.Tiered = nsProp(md.Props, "tiered") == "true"
	c.Edition.Date = im.opt.EditionDate
	if c.Edition.Date == "" {
		c.Edition.Date = nsProp(md.Props, "edition-date")
	}
	if c.Edition.Date == "" && md.Published != nil {
		c.Edition.Date = md.Published.Format(time.DateOnly)
	}
	if c.Edition.Date == "" && !md.LastModified.IsZero() {
		c.Edition.Date = md.LastModified.Format(time.DateOnly)
	}
	c.Edition.Version = nsProp(md.Props, "edition-version")
	if c.Edition.Version == "" && nsProp(md.Props, "framework-id") == "" {
		c.Edition.Version = md.Version
	}
	c.Edition.SourceURL = nsProp(md.Props, "source-url")
	for _, p := range nsProps(md.Props, "history-date") {
		c.Edition.History = append(c.Edition.History, control.EditionNote{Date: p.Value, Note: textOf(md.Props, "history-note", p.Group)})
	}
	for _, p := range nsProps(md.Props, "condition") {
		c.Conditions = append(c.Conditions, control.Condition{ID: p.Value,
			Title: textOf(md.Props, "condition-title", p.Group), Description: textOf(md.Props, "condition-description", p.Group)})
	}
	for _, p := range nsProps(md.Props, "implementation-group") {
		c.Groups = append(c.Groups, control.Group{ID: p.Value,
			Title: textOf(md.Props, "implementation-group-title", p.Group), Description: textOf(md.Props, "implementation-group-description", p.Group)})
	}
	im.backMatter(c)

	// Parameters are referenced across the document; collect them first.
	im.collectParams(im.doc.Params)
	im.walkParams(im.doc.Groups, im.doc.Controls)

	im.ids = map[string]bool{}
	im.mappings = map[int]control.Mapping{}
	if im.doc.Controls != nil {
		for _, ctl := range *im.doc.Controls {
			if n := im.control(ctl); n != nil {
				c.Nodes = append(c.Nodes, n)
			}
		}
	}
	if im.doc.Groups != nil {
		for _, g := range *im.doc.Groups {
			c.Nodes = append(c.Nodes, im.group(g))
		}
	}
	keys := make([]int, 0, len(im.mappings))
	for k := range im.mappings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		c.Mappings = append(c.Mappings, im.mappings[k])
	}
	// Related links may point at controls outside this catalog (a baseline
	// leaves most of SP 800-53 out); keep those that resolve.
	_ = c.Walk(func(n, _ *control.Node, _ int) error {
		kept := n.Related[:0]
		for _, r := range n.Related {
			if im.ids[r] && r != n.ID && !slices.Contains(kept, r) {
				kept = append(kept, r)
			}
		}
		n.Related = kept
		if len(n.Related) == 0 {
			n.Related = nil
		}
		return nil
	})
	return c, nil
}

func (im *importer) publisher() control.Text {
	md := im.doc.Metadata
	if md.ResponsibleParties == nil || md.Parties == nil {
		return nil
	}
	for _, rp := range *md.ResponsibleParties {
		if rp.RoleId != "publisher" && rp.RoleId != "creator" {
			continue
		}
		for _, p := range *md.Parties {
			if slices.Contains(rp.PartyUuids, p.UUID) && p.Name != "" {
				return control.Text{im.lang: oneLine(p.Name)}
			}
		}
	}
	return nil
}

func (im *importer) backMatter(c *control.Catalog) {
	bm := im.doc.BackMatter
	if bm == nil || bm.Resources == nil {
		return
	}
	for _, r := range *bm.Resources {
		field, lang := nsProp(r.Props, "text-field"), nsProp(r.Props, "lang")
		if field == "" || lang == "" || r.Description == "" {
			continue
		}
		var t *control.Text
		switch field {
		case "framework.description":
			t = &c.Framework.Description
		case "edition.licence":
			t = &c.Edition.Licence
		case "edition.notes":
			t = &c.Edition.Notes
		default:
			continue
		}
		if *t == nil {
			*t = control.Text{}
		}
		(*t)[lang] = r.Description
	}
}

func (im *importer) collectParams(ps *[]oscaltypes.Parameter) {
	if ps == nil {
		return
	}
	for _, p := range *ps {
		im.params[p.ID] = p
	}
}

func (im *importer) walkParams(groups *[]oscaltypes.Group, controls *[]oscaltypes.Control) {
	if controls != nil {
		for _, c := range *controls {
			im.collectParams(c.Params)
			im.walkParams(nil, c.Controls)
		}
	}
	if groups != nil {
		for _, g := range *groups {
			im.collectParams(g.Params)
			im.walkParams(g.Groups, g.Controls)
		}
	}
}

// id returns the OSCAL id if it can serve as a node ID, else a generated
// one; the original is kept as the external ID.
func (im *importer) id(id, kind string) (string, string) {
	if control.ValidToken(id) && !im.ids[id] {
		im.ids[id] = true
		return id, ""
	}
	for {
		im.seq++
		gen := kind + "-" + strconv.Itoa(im.seq)
		if !im.ids[gen] {
			im.ids[gen] = true
			return gen, id
		}
	}
}

func (im *importer) node(n *control.Node, props *[]oscaltypes.Property, links *[]oscaltypes.Link, parts *[]oscaltypes.Part, title, textPart string) {
	n.Title = control.Text{}
	for l, s := range textOf(props, "title", "") {
		n.Title[l] = s
	}
	if _, ok := n.Title[im.lang]; !ok || n.Title[im.lang] == "" {
		n.Title[im.lang] = oneLine(title)
	}
	n.Ref = label(props)
	n.Area = nsProp(props, "area") == "true"
	if ext := nsProp(props, "external-id"); ext != "" {
		n.ExternalID = ext
	}
	var f control.Frequency
	if s := nsProp(props, "frequency-every"); s != "" {
		f.Every, _ = control.ParseInterval(s) // a bad value fails validation as an empty frequency
	}
	f.Periodic = nsProp(props, "frequency-periodic") == "true"
	f.Continuous = nsProp(props, "frequency-continuous") == "true"
	for _, p := range nsProps(props, "frequency-on") {
		f.On = append(f.On, control.Trigger(p.Value))
	}
	if len(nsProps(props, "frequency-every")) > 0 || f.Periodic || f.Continuous || len(f.On) > 0 {
		n.Freq = &f
	}
	for _, p := range nsProps(props, "applicability") {
		n.Applicability = append(n.Applicability, control.Applicability{Condition: p.Value, Scope: control.Scope(p.Class)})
	}
	for _, p := range nsProps(props, "implementation-group") {
		n.Groups = append(n.Groups, p.Value)
	}
	for _, p := range nsProps(props, "mapping") {
		k, _ := strconv.Atoi(strings.TrimPrefix(p.Group, "m"))
		cat, target, _ := strings.Cut(p.Value, ":")
		m := control.Mapping{Source: n.ID, TargetCatalog: cat, Target: target, Relationship: control.Relationship(p.Class)}
		m.Note = textOf(props, "mapping-note", p.Group)
		if _, dup := im.mappings[k]; dup || k <= 0 {
			k = 1<<30 + len(im.mappings)
		}
		im.mappings[k] = m
	}
	if links != nil {
		for _, l := range *links {
			if l.Rel == "related" && strings.HasPrefix(l.Href, "#") {
				n.Related = append(n.Related, strings.TrimPrefix(l.Href, "#"))
			}
		}
	}
	if parts == nil {
		return
	}
	for _, p := range *parts {
		switch {
		case p.Ns == "" && p.Name == textPart:
			setLang(&n.Text, im.lang, im.render(p))
		case p.Ns == "" && p.Name == "guidance":
			setLang(&n.Guidance, im.lang, im.render(p))
		case p.Ns == NS && (p.Name == textPart) && p.Class != "":
			setLang(&n.Text, p.Class, strings.TrimSpace(p.Prose))
		case p.Ns == NS && p.Name == "guidance" && p.Class != "":
			setLang(&n.Guidance, p.Class, strings.TrimSpace(p.Prose))
		case p.Ns == NS && p.Name == "assumed-risk":
			n.AssumedRisk = langParts(p)
		case p.Ns == NS && p.Name == "example-measure":
			n.Measures = append(n.Measures, langParts(p))
		case p.Ns == NS && p.Name == "bad-example":
			n.BadExamples = append(n.BadExamples, langParts(p))
		case p.Ns == NS && p.Name == "evidence-hint":
			n.EvidenceHints = append(n.EvidenceHints, langParts(p))
		}
	}
}

func setLang(t *control.Text, lang, s string) {
	if s == "" {
		return
	}
	if *t == nil {
		*t = control.Text{}
	}
	(*t)[lang] = s
}

func langParts(p oscaltypes.Part) control.Text {
	t := control.Text{}
	if p.Parts != nil {
		for _, ch := range *p.Parts {
			if ch.Ns == NS && ch.Name == "text" && ch.Class != "" {
				t[ch.Class] = strings.TrimSpace(ch.Prose)
			}
		}
	}
	return t
}

// label picks the printed reference: OSCAL's label prop without a class
// ("AC-2"), else the first label.
func label(props *[]oscaltypes.Property) string {
	if props == nil {
		return ""
	}
	first := ""
	for _, p := range *props {
		if p.Name != "label" || (p.Ns != "" && p.Ns != "http://csrc.nist.gov/ns/oscal") {
			continue
		}
		if p.Class == "" {
			return oneLine(p.Value)
		}
		if first == "" {
			first = oneLine(p.Value)
		}
	}
	return first
}

func withdrawn(props *[]oscaltypes.Property) bool {
	if props == nil {
		return false
	}
	for _, p := range *props {
		if p.Name == "status" && (p.Ns == "" || p.Ns == "http://csrc.nist.gov/ns/oscal") && strings.EqualFold(p.Value, "withdrawn") {
			return true
		}
	}
	return false
}

func (im *importer) group(g oscaltypes.Group) *control.Node {
	n := &control.Node{Kind: control.KindSection}
	n.ID, n.ExternalID = im.id(g.ID, "group")
	im.node(n, g.Props, g.Links, g.Parts, g.Title, "overview")
	if g.Controls != nil {
		for _, c := range *g.Controls {
			if ch := im.control(c); ch != nil {
				n.Children = append(n.Children, ch)
			}
		}
	}
	if g.Groups != nil {
		for _, sub := range *g.Groups {
			n.Children = append(n.Children, im.group(sub))
		}
	}
	return n
}

func (im *importer) control(c oscaltypes.Control) *control.Node {
	if withdrawn(c.Props) {
		return nil
	}
	n := &control.Node{Kind: control.KindItem}
	n.ID, n.ExternalID = im.id(c.ID, "control")
	im.node(n, c.Props, c.Links, c.Parts, c.Title, "statement")
	if t := nsProp(c.Props, "tier"); t != "" {
		n.Tier = control.Tier(t)
	}
	// A control needs a requirement text; when a catalog gives none, its
	// guidance, then its title, stand in rather than failing the import.
	if n.Text[im.lang] == "" {
		switch {
		case n.Guidance[im.lang] != "":
			setLang(&n.Text, im.lang, n.Guidance[im.lang])
		default:
			setLang(&n.Text, im.lang, n.Title[im.lang])
		}
	}
	if c.Controls != nil {
		for _, sub := range *c.Controls {
			if ch := im.control(sub); ch != nil {
				n.Children = append(n.Children, ch)
			}
		}
	}
	return n
}

// render turns a statement (or guidance) part into text. Prose without
// sub-items is kept as written; items become one line each, with their
// label, indented two spaces per level.
func (im *importer) render(p oscaltypes.Part) string {
	if !hasItems(p) {
		return strings.TrimSpace(im.insertParams(p.Prose, 0))
	}
	var lines []string
	var walk func(p oscaltypes.Part, depth int)
	walk = func(p oscaltypes.Part, depth int) {
		line := oneLine(label(p.Props) + " " + im.insertParams(p.Prose, 0))
		if line != "" {
			lines = append(lines, strings.Repeat("  ", depth)+line)
			depth++
		}
		if p.Parts != nil {
			for _, ch := range *p.Parts {
				if ch.Ns == "" && ch.Name == "item" {
					walk(ch, depth)
				}
			}
		}
	}
	walk(p, 0)
	return strings.Join(lines, "\n")
}

func hasItems(p oscaltypes.Part) bool {
	if p.Parts == nil {
		return false
	}
	for _, ch := range *p.Parts {
		if ch.Ns == "" && ch.Name == "item" {
			return true
		}
	}
	return false
}

var insertPattern = regexp.MustCompile(`\{\{\s*insert:\s*param,\s*([^\s}]+)\s*\}\}`)

// insertParams replaces {{ insert: param, id }} as NIST prints parameters.
// Choices and labels may insert parameters in turn (NIST nests one level);
// deeper nesting is left as "[id]" so that crafted input cannot blow up.
func (im *importer) insertParams(s string, depth int) string {
	if depth > 1 {
		return insertPattern.ReplaceAllString(s, "[$1]")
	}
	return insertPattern.ReplaceAllStringFunc(s, func(m string) string {
		id := insertPattern.FindStringSubmatch(m)[1]
		p, ok := im.params[id]
		if !ok {
			return "[" + id + "]"
		}
		if p.Values != nil && len(*p.Values) > 0 {
			return strings.Join(*p.Values, ", ")
		}
		if p.Select != nil && p.Select.Choice != nil {
			var choices []string
			for _, ch := range *p.Select.Choice {
				choices = append(choices, im.insertParams(ch, depth+1))
			}
			how := "Selection"
			if p.Select.HowMany == "one-or-more" {
				how = "Selection (one or more)"
			}
			return "[" + how + ": " + strings.Join(choices, "; ") + "]"
		}
		if p.Label != "" {
			return "[Assignment: organization-defined " + im.insertParams(p.Label, depth+1) + "]"
		}
		return "[" + id + "]"
	})
}

var spaces = regexp.MustCompile(`\s+`)

func oneLine(s string) string { return strings.TrimSpace(spaces.ReplaceAllString(s, " ")) }
