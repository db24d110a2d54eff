// Package oscal converts control catalogs to and from OSCAL 1.1 catalog JSON
// (NIST's Open Security Controls Assessment Language), using the generated
// OSCAL 1.1.3 types of github.com/defenseunicorns/go-oscal.
//
// Sections become groups, items become controls (child items become nested
// controls), and the text and metadata OSCAL has no field for travel in
// properties and parts in mamori's namespace (NS). OSCAL has no notion of a
// text's language, so mamori uses these rules, documented in
// docs/catalogs.md:
//
//  1. The standard fields (title, and the parts named statement, guidance and
//     overview) hold the catalog's primary language, declared by the
//     metadata property lang. Tools that know nothing of mamori see a normal
//     single-language catalog.
//  2. The other languages of those fields are siblings in mamori's namespace:
//     props named title and parts named statement, guidance or overview whose
//     class is the language tag ("en").
//  3. Texts only mamori has (evidence hints, assumed risk, example measures,
//     bad examples) are parts in mamori's namespace holding one child part
//     named text per language, the class again being the language tag.
//  4. Catalog-level one-line texts are metadata props with class = language;
//     longer ones (description, licence, notes) are back-matter resources.
package oscal

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	oscaltypes "github.com/defenseunicorns/go-oscal/src/types/oscal-1-1-3"
	"github.com/google/uuid"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/control"
)

// NS is the namespace of mamori's OSCAL properties and parts.
const NS = "urn:mamori:oscal"

// Version is the OSCAL version written to metadata.oscal-version.
const Version = oscaltypes.Version

// namespace for the deterministic (version 5) UUIDs of exports, so that
// exporting the same catalog twice gives the same document.
var uuidSpace = uuid.NewSHA1(uuid.NameSpaceURL, []byte(NS))

// ExportOptions tune Export.
type ExportOptions struct {
	// Lang is the language of the standard fields; empty means the
	// catalog's primary language.
	Lang string
}

// Encode writes the catalog as an indented OSCAL catalog JSON document.
func Encode(w io.Writer, c *control.Catalog, opt ExportOptions) error {
	doc, err := Export(c, opt)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("encode OSCAL catalog %s: %w", c.Key(), err)
	}
	return nil
}

// Export converts a valid catalog into an OSCAL document holding one catalog.
func Export(c *control.Catalog, opt ExportOptions) (*oscaltypes.OscalModels, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	lang := opt.Lang
	if lang == "" {
		lang = c.PrimaryLanguage()
	}
	if c.Framework.Name[lang] == "" {
		return nil, mamori.Invalid("lang", fmt.Sprintf("catalog %s has no text in %q", c.Key(), lang))
	}
	x := &exporter{c: c, lang: lang}
	edition, err := c.EditionTime()
	if err != nil {
		return nil, mamori.Wrap(mamori.EINVALID, err, "The edition date is not valid.")
	}
	cat := &oscaltypes.Catalog{
		UUID:       x.uuid("catalog"),
		Metadata:   x.metadata(edition),
		BackMatter: x.backMatter(),
	}
	var groups []oscaltypes.Group
	var controls []oscaltypes.Control
	for _, n := range c.Nodes {
		if n.Kind == control.KindSection {
			groups = append(groups, x.group(n))
		} else {
			controls = append(controls, x.control(n))
		}
	}
	cat.Groups = ptr(groups)
	cat.Controls = ptr(controls)
	return &oscaltypes.OscalModels{Catalog: cat}, nil
}

type exporter struct {
	c    *control.Catalog
	lang string
}

func (x *exporter) uuid(name string) string {
	return uuid.NewSHA1(uuidSpace, []byte(x.c.Key()+"/"+name)).String()
}

func ptr[T any](s []T) *[]T {
	if len(s) == 0 {
		return nil
	}
	return &s
}

func prop(name, value string) oscaltypes.Property {
	return oscaltypes.Property{Name: name, Ns: NS, Value: value}
}

// textProps returns one prop per language, class = language.
func textProps(name string, t control.Text, group string) []oscaltypes.Property {
	var out []oscaltypes.Property
	for _, l := range t.Languages() {
		if t[l] != "" {
			out = append(out, oscaltypes.Property{Name: name, Ns: NS, Class: l, Value: t[l], Group: group})
		}
	}
	return out
}

// otherLangProps is textProps without the primary language (rule 2).
func (x *exporter) otherLangProps(name string, t control.Text) []oscaltypes.Property {
	var out []oscaltypes.Property
	for _, p := range textProps(name, t, "") {
		if p.Class != x.lang {
			out = append(out, p)
		}
	}
	return out
}

func (x *exporter) metadata(edition time.Time) oscaltypes.Metadata {
	c := x.c
	props := []oscaltypes.Property{prop("lang", x.lang)}
	for _, l := range c.Languages {
		props = append(props, prop("language", l))
	}
	props = append(props, prop("framework-id", c.Framework.ID), prop("edition-date", c.Edition.Date))
	if c.Edition.Version != "" {
		props = append(props, prop("edition-version", c.Edition.Version))
	}
	if c.Edition.SourceURL != "" {
		props = append(props, prop("source-url", c.Edition.SourceURL))
	}
	if c.Tiered {
		props = append(props, prop("tiered", "true"))
	}
	props = append(props, textProps("name", c.Framework.Name, "")...)
	props = append(props, textProps("publisher", c.Framework.Publisher, "")...)
	for i, h := range c.Edition.History {
		g := "h" + strconv.Itoa(i+1)
		props = append(props, oscaltypes.Property{Name: "history-date", Ns: NS, Value: h.Date, Group: g})
		props = append(props, textProps("history-note", h.Note, g)...)
	}
	for _, k := range c.Conditions {
		g := "condition-" + k.ID
		props = append(props, oscaltypes.Property{Name: "condition", Ns: NS, Value: k.ID, Group: g})
		props = append(props, textProps("condition-title", k.Title, g)...)
		props = append(props, textProps("condition-description", k.Description, g)...)
	}
	for _, gr := range c.Groups {
		g := "group-" + gr.ID
		props = append(props, oscaltypes.Property{Name: "implementation-group", Ns: NS, Value: gr.ID, Group: g})
		props = append(props, textProps("implementation-group-title", gr.Title, g)...)
		props = append(props, textProps("implementation-group-description", gr.Description, g)...)
	}
	version := c.Edition.Version
	if version == "" {
		version = c.Edition.Date
	}
	md := oscaltypes.Metadata{
		Title:        c.Framework.Name.Get(x.lang),
		LastModified: edition,
		Published:    &edition,
		Version:      version,
		OscalVersion: Version,
		Props:        &props,
	}
	if c.Edition.SourceURL != "" {
		md.Links = &[]oscaltypes.Link{{Href: c.Edition.SourceURL, Rel: "reference"}}
	}
	if pub := c.Framework.Publisher.Get(x.lang); pub != "" {
		party := x.uuid("publisher")
		md.Roles = &[]oscaltypes.Role{{ID: "publisher", Title: "Publisher"}}
		md.Parties = &[]oscaltypes.Party{{UUID: party, Type: "organization", Name: pub}}
		md.ResponsibleParties = &[]oscaltypes.ResponsibleParty{{RoleId: "publisher", PartyUuids: []string{party}}}
	}
	return md
}

// backMatter holds the multi-line catalog texts, one resource per field and
// language (rule 4).
func (x *exporter) backMatter() *oscaltypes.BackMatter {
	var res []oscaltypes.Resource
	for _, f := range []struct {
		field string
		text  control.Text
	}{
		{"framework.description", x.c.Framework.Description},
		{"edition.licence", x.c.Edition.Licence},
		{"edition.notes", x.c.Edition.Notes},
	} {
		for _, l := range f.text.Languages() {
			props := []oscaltypes.Property{prop("text-field", f.field), prop("lang", l)}
			res = append(res, oscaltypes.Resource{
				UUID:        x.uuid("resource/" + f.field + "/" + l),
				Title:       f.field + " (" + l + ")",
				Description: f.text[l],
				Props:       &props,
			})
		}
	}
	if len(res) == 0 {
		return nil
	}
	return &oscaltypes.BackMatter{Resources: &res}
}

// nodeProps are the props groups and controls share.
func (x *exporter) nodeProps(n *control.Node) []oscaltypes.Property {
	var props []oscaltypes.Property
	if n.Ref != "" {
		// label is OSCAL's own property for the printed reference.
		props = append(props, oscaltypes.Property{Name: "label", Value: n.Ref})
	}
	props = append(props, x.otherLangProps("title", n.Title)...)
	if n.Area {
		props = append(props, prop("area", "true"))
	}
	if n.Tier != "" {
		props = append(props, prop("tier", string(n.Tier)))
	}
	if f := n.Freq; f != nil {
		if !f.Every.IsZero() {
			props = append(props, prop("frequency-every", f.Every.String()))
		}
		if f.Periodic {
			props = append(props, prop("frequency-periodic", "true"))
		}
		if f.Continuous {
			props = append(props, prop("frequency-continuous", "true"))
		}
		for _, t := range f.On {
			props = append(props, prop("frequency-on", string(t)))
		}
	}
	for _, a := range n.Applicability {
		p := prop("applicability", a.Condition)
		p.Class = string(a.Scope)
		props = append(props, p)
	}
	for _, g := range n.Groups {
		props = append(props, prop("implementation-group", g))
	}
	if n.ExternalID != "" {
		props = append(props, prop("external-id", n.ExternalID))
	}
	for i, m := range x.c.Mappings {
		if m.Source != n.ID {
			continue
		}
		g := "m" + strconv.Itoa(i+1)
		p := prop("mapping", m.TargetCatalog+":"+m.Target)
		p.Class, p.Group = string(m.Relationship), g
		props = append(props, p)
		props = append(props, textProps("mapping-note", m.Note, g)...)
	}
	return props
}

// textParts returns the standard part in the primary language and its
// translations (rules 1 and 2).
func (x *exporter) textParts(name, id string, t control.Text) []oscaltypes.Part {
	if t.IsZero() {
		return nil
	}
	var out []oscaltypes.Part
	if s := t[x.lang]; s != "" {
		out = append(out, oscaltypes.Part{ID: id, Name: name, Prose: s})
	}
	for _, l := range t.Languages() {
		if l != x.lang && t[l] != "" {
			out = append(out, oscaltypes.Part{Name: name, Ns: NS, Class: l, Prose: t[l]})
		}
	}
	return out
}

// listParts renders mamori-only texts (rule 3).
func listParts(name string, texts ...control.Text) []oscaltypes.Part {
	var out []oscaltypes.Part
	for _, t := range texts {
		if t.IsZero() {
			continue
		}
		var langs []oscaltypes.Part
		for _, l := range t.Languages() {
			if t[l] != "" {
				langs = append(langs, oscaltypes.Part{Name: "text", Ns: NS, Class: l, Prose: t[l]})
			}
		}
		out = append(out, oscaltypes.Part{Name: name, Ns: NS, Parts: ptr(langs)})
	}
	return out
}

func (x *exporter) commonParts(n *control.Node) []oscaltypes.Part {
	var parts []oscaltypes.Part
	parts = append(parts, listParts("assumed-risk", n.AssumedRisk)...)
	parts = append(parts, listParts("example-measure", n.Measures...)...)
	parts = append(parts, listParts("bad-example", n.BadExamples...)...)
	parts = append(parts, listParts("evidence-hint", n.EvidenceHints...)...)
	return parts
}

func relatedLinks(n *control.Node) []oscaltypes.Link {
	var links []oscaltypes.Link
	for _, r := range n.Related {
		links = append(links, oscaltypes.Link{Href: "#" + r, Rel: "related"})
	}
	return links
}

func (x *exporter) group(n *control.Node) oscaltypes.Group {
	parts := x.textParts("overview", n.ID+"_ovw", n.Text)
	parts = append(parts, x.textParts("guidance", n.ID+"_gdn", n.Guidance)...)
	parts = append(parts, x.commonParts(n)...)
	var groups []oscaltypes.Group
	var controls []oscaltypes.Control
	for _, ch := range n.Children {
		if ch.Kind == control.KindSection {
			groups = append(groups, x.group(ch))
		} else {
			controls = append(controls, x.control(ch))
		}
	}
	return oscaltypes.Group{
		ID:       n.ID,
		Title:    n.Title.Get(x.lang),
		Props:    ptr(x.nodeProps(n)),
		Links:    ptr(relatedLinks(n)),
		Parts:    ptr(parts),
		Groups:   ptr(groups),
		Controls: ptr(controls),
	}
}

func (x *exporter) control(n *control.Node) oscaltypes.Control {
	parts := x.textParts("statement", n.ID+"_smt", n.Text)
	parts = append(parts, x.textParts("guidance", n.ID+"_gdn", n.Guidance)...)
	parts = append(parts, x.commonParts(n)...)
	var controls []oscaltypes.Control
	for _, ch := range n.Children {
		controls = append(controls, x.control(ch))
	}
	return oscaltypes.Control{
		ID:       n.ID,
		Title:    n.Title.Get(x.lang),
		Props:    ptr(x.nodeProps(n)),
		Links:    ptr(relatedLinks(n)),
		Parts:    ptr(parts),
		Controls: ptr(controls),
	}
}
