// Package cisoassistant imports framework libraries of CISO Assistant (the
// YAML files under backend/library/libraries in intuitem's repository), so
// that the frameworks of that ecosystem can be assessed in mamori.
//
// A library's requirement_nodes become the catalog's tree (parent_urn gives
// the parent; assessable nodes become items), implementation groups become
// the catalog's groups (and optionally tiers), translations become further
// languages of each text, annotation becomes guidance and typical_evidence an
// evidence hint. Node IDs are the framework's ref_id and the node's ref_id
// joined by a dash ("NIST-CSF-2.0-GV.OC-01"); the URN is kept as the
// external ID.
package cisoassistant

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/control"
)

// Options tune Decode.
type Options struct {
	// ID is the framework ID; default: a slug of the framework's ref_id.
	ID string
	// EditionDate is used when the library has no publication_date.
	EditionDate string
	// Tiers maps implementation group ref_ids to tiers, e.g. ANSSI's
	// {"S": basic, "R": desirable}. When set, the catalog is tiered and
	// every item takes the tier of its first mapped group.
	Tiers map[string]control.Tier
}

type translation struct {
	Name            string `yaml:"name"`
	Description     string `yaml:"description"`
	Annotation      string `yaml:"annotation"`
	TypicalEvidence string `yaml:"typical_evidence"`
}

type library struct {
	URN             string                 `yaml:"urn"`
	Locale          string                 `yaml:"locale"`
	RefID           string                 `yaml:"ref_id"`
	Name            string                 `yaml:"name"`
	Description     string                 `yaml:"description"`
	Copyright       string                 `yaml:"copyright"`
	Version         any                    `yaml:"version"`
	PublicationDate any                    `yaml:"publication_date"`
	Provider        string                 `yaml:"provider"`
	Packager        string                 `yaml:"packager"`
	Translations    map[string]translation `yaml:"translations"`
	Objects         struct {
		Framework *framework `yaml:"framework"`
	} `yaml:"objects"`
}

type framework struct {
	URN                            string                 `yaml:"urn"`
	RefID                          string                 `yaml:"ref_id"`
	Name                           string                 `yaml:"name"`
	Description                    string                 `yaml:"description"`
	Translations                   map[string]translation `yaml:"translations"`
	ImplementationGroupsDefinition []struct {
		RefID        string                 `yaml:"ref_id"`
		Name         string                 `yaml:"name"`
		Description  string                 `yaml:"description"`
		Translations map[string]translation `yaml:"translations"`
	} `yaml:"implementation_groups_definition"`
	RequirementNodes []requirementNode `yaml:"requirement_nodes"`
}

type requirementNode struct {
	URN                  string                 `yaml:"urn"`
	Assessable           bool                   `yaml:"assessable"`
	ParentURN            string                 `yaml:"parent_urn"`
	RefID                string                 `yaml:"ref_id"`
	Name                 string                 `yaml:"name"`
	Description          string                 `yaml:"description"`
	Annotation           string                 `yaml:"annotation"`
	TypicalEvidence      string                 `yaml:"typical_evidence"`
	ImplementationGroups []string               `yaml:"implementation_groups"`
	Translations         map[string]translation `yaml:"translations"`
}

// Decode reads a CISO Assistant framework library and returns a validated
// catalog. The library's locale is the catalog's one required language;
// translations are kept where given.
func Decode(data []byte, opt Options) (*control.Catalog, error) {
	if len(data) > control.MaxDocumentSize {
		return nil, mamori.Errorf(mamori.ETOOLARGE, "The library file is larger than %d MiB.", control.MaxDocumentSize>>20)
	}
	var lib library
	if err := control.UnmarshalYAML(data, &lib); err != nil {
		return nil, mamori.Wrap(mamori.EINVALID, err, "The file is not a valid CISO Assistant library: "+firstLine(err.Error()))
	}
	if lib.Objects.Framework == nil {
		var probe struct {
			Objects map[string]any `yaml:"objects"`
		}
		_ = control.UnmarshalYAML(data, &probe)
		var have []string
		for k := range probe.Objects {
			have = append(have, k)
		}
		slices.Sort(have)
		if len(have) == 0 {
			return nil, mamori.Errorf(mamori.EINVALID, "The file is not a CISO Assistant framework library: it has no objects.framework.")
		}
		return nil, mamori.Errorf(mamori.EINVALID, "The library holds no framework (it holds %s); only framework libraries can be imported.", strings.Join(have, ", "))
	}
	return convert(lib, *lib.Objects.Framework, opt)
}

func convert(lib library, fw framework, opt Options) (*control.Catalog, error) {
	lang := strings.ToLower(strings.TrimSpace(lib.Locale))
	if lang == "" {
		lang = "en"
	}
	fe := mamori.FieldErrors{}
	c := &control.Catalog{Languages: []string{lang}}
	c.Framework.ID = opt.ID
	if c.Framework.ID == "" {
		c.Framework.ID = control.Slug(firstOf(fw.RefID, lib.RefID, lastSegment(fw.URN)))
	}
	c.Framework.Name = texts(lang, firstOf(fw.Name, lib.Name, fw.RefID), fw.Translations, func(t translation) string { return t.Name }, true)
	c.Framework.Description = texts(lang, firstOf(fw.Description, lib.Description), fw.Translations, func(t translation) string { return t.Description }, false)
	if lib.Provider != "" {
		c.Framework.Publisher = control.Text{lang: oneLine(lib.Provider)}
	}
	c.Edition.Date = dateOf(lib.PublicationDate)
	if c.Edition.Date == "" {
		c.Edition.Date = opt.EditionDate
	}
	if c.Edition.Date == "" {
		fe.Add("publication_date", "the library has no publication date; give the edition date")
	}
	if lib.Version != nil {
		c.Edition.Version = oneLine(fmt.Sprint(lib.Version))
	}
	if lib.Copyright != "" {
		c.Edition.Licence = control.Text{lang: strings.TrimSpace(lib.Copyright)}
	}
	c.Edition.Notes = control.Text{lang: fmt.Sprintf("Imported from the CISO Assistant library %s (packaged by %s).", lib.URN, firstOf(lib.Packager, "unknown"))}

	for i, g := range fw.ImplementationGroupsDefinition {
		if !control.ValidToken(g.RefID) {
			fe.Addf(fmt.Sprintf("implementation_groups_definition[%d].ref_id", i), "%q cannot be used as a group ID", g.RefID)
			continue
		}
		c.Groups = append(c.Groups, control.Group{ID: g.RefID,
			Title:       texts(lang, firstOf(g.Name, g.RefID), g.Translations, func(t translation) string { return t.Name }, true),
			Description: texts(lang, g.Description, g.Translations, func(t translation) string { return t.Description }, true),
		})
	}
	if len(opt.Tiers) > 0 {
		c.Tiered = true
	}

	prefix := sanitize(firstOf(fw.RefID, lib.RefID, c.Framework.ID))
	if !control.ValidToken(prefix) {
		prefix = "F-" + prefix
	}
	parents := make(map[string]string, len(fw.RequirementNodes))
	for _, rn := range fw.RequirementNodes {
		parents[rn.URN] = rn.ParentURN
	}
	byURN := make(map[string]*control.Node, len(fw.RequirementNodes))
	assessable := make(map[string]bool, len(fw.RequirementNodes))
	ids := map[string]bool{}
	for i, rn := range fw.RequirementNodes {
		f := fmt.Sprintf("requirement_nodes[%d]", i)
		if rn.URN == "" {
			fe.Add(f+".urn", "is required")
			continue
		}
		if _, dup := byURN[rn.URN]; dup {
			fe.Addf(f+".urn", "%s appears twice", rn.URN)
			continue
		}
		n := &control.Node{ExternalID: rn.URN, Ref: oneLine(rn.RefID)}
		n.ID = prefix + "-" + sanitize(firstOf(rn.RefID, lastSegment(rn.URN)))
		if ids[n.ID] || !control.ValidToken(n.ID) {
			n.ID = prefix + "-" + sanitize(lastSegment(rn.URN))
		}
		for k := 2; ids[n.ID]; k++ {
			n.ID = fmt.Sprintf("%s-%s-%d", prefix, sanitize(lastSegment(rn.URN)), k)
		}
		ids[n.ID] = true
		n.Title = texts(lang, firstOf(rn.Name, rn.RefID, lastSegment(rn.URN)), rn.Translations, func(t translation) string { return t.Name }, true)
		n.Text = texts(lang, rn.Description, rn.Translations, func(t translation) string { return t.Description }, false)
		n.Guidance = texts(lang, rn.Annotation, rn.Translations, func(t translation) string { return t.Annotation }, false)
		if ev := texts(lang, rn.TypicalEvidence, rn.Translations, func(t translation) string { return t.TypicalEvidence }, false); ev != nil {
			n.EvidenceHints = []control.Text{ev}
		}
		n.Groups = rn.ImplementationGroups
		assessable[rn.URN] = rn.Assessable
		byURN[rn.URN] = n
	}
	for i, rn := range fw.RequirementNodes {
		n, ok := byURN[rn.URN]
		if !ok || n.ExternalID != rn.URN {
			continue
		}
		// Items: assessable nodes, and (since a heading cannot sit inside a
		// requirement) any node below an assessable one.
		n.Kind = control.KindSection
		if rn.Assessable || hasAssessableAncestor(rn.ParentURN, parents, assessable) {
			n.Kind = control.KindItem
			if n.Text.IsZero() {
				n.Text = n.Title // CISO Assistant items sometimes carry only a name
			}
			if c.Tiered {
				for _, g := range rn.ImplementationGroups {
					if t, ok := opt.Tiers[g]; ok {
						n.Tier = t
						break
					}
				}
			}
		}
		switch {
		case rn.ParentURN == "" || rn.ParentURN == fw.URN:
			c.Nodes = append(c.Nodes, n)
		case byURN[rn.ParentURN] == nil:
			fe.Addf(fmt.Sprintf("requirement_nodes[%d].parent_urn", i), "%s is not a node of this framework", rn.ParentURN)
		case byURN[rn.ParentURN] == n:
			fe.Add(fmt.Sprintf("requirement_nodes[%d].parent_urn", i), "a node cannot be its own parent")
		default:
			p := byURN[rn.ParentURN]
			p.Children = append(p.Children, n)
		}
	}
	if cyc := cycle(fw.RequirementNodes); cyc != "" {
		fe.Addf("requirement_nodes", "parent_urn links form a cycle through %s", cyc)
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func hasAssessableAncestor(parent string, parents map[string]string, assessable map[string]bool) bool {
	for i := 0; parent != "" && i <= len(parents); i++ {
		if assessable[parent] {
			return true
		}
		parent = parents[parent]
	}
	return false
}

// cycle returns a URN on a parent cycle, or "".
func cycle(nodes []requirementNode) string {
	parents := make(map[string]string, len(nodes))
	for _, n := range nodes {
		parents[n.URN] = n.ParentURN
	}
	for _, n := range nodes {
		seen := map[string]bool{}
		for u := n.URN; u != ""; u = parents[u] {
			if seen[u] {
				return u
			}
			seen[u] = true
		}
	}
	return ""
}

// texts builds a Text from the base value in lang and the translations.
// Titles (line) are folded onto one line.
func texts(lang, base string, tr map[string]translation, pick func(translation) string, line bool) control.Text {
	clean := strings.TrimSpace
	if line {
		clean = oneLine
	}
	t := control.Text{}
	if s := clean(base); s != "" {
		t[lang] = s
	}
	for l, v := range tr {
		if s := clean(pick(v)); s != "" {
			t[strings.ToLower(l)] = s
		}
	}
	if len(t) == 0 {
		return nil
	}
	return t
}

func dateOf(v any) string {
	switch d := v.(type) {
	case time.Time:
		return d.Format(time.DateOnly)
	case string:
		if t, err := time.Parse(time.DateOnly, strings.TrimSpace(d)); err == nil {
			return t.Format(time.DateOnly)
		}
	}
	return ""
}

var unsafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// sanitize makes s usable inside a node ID: runs of other characters
// become "_".
func sanitize(s string) string {
	s = unsafe.ReplaceAllString(strings.TrimSpace(s), "_")
	if s == "" {
		return "_"
	}
	return s
}

func lastSegment(urn string) string {
	if i := strings.LastIndexByte(urn, ':'); i >= 0 {
		return urn[i+1:]
	}
	return urn
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

var spaces = regexp.MustCompile(`\s+`)

func oneLine(s string) string { return strings.TrimSpace(spaces.ReplaceAllString(s, " ")) }

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}
