package control_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/control"
)

// small returns a valid two-language, tiered catalog to break in tests.
func small() *control.Catalog {
	tx := func(ja, en string) control.Text { return control.Text{"ja": ja, "en": en} }
	return &control.Catalog{
		Framework:  control.Framework{ID: "test-cat", Name: tx("テスト", "Test")},
		Edition:    control.Edition{Date: "2025-07-04"},
		Languages:  []string{"ja", "en"},
		Tiered:     true,
		Conditions: []control.Condition{{ID: "fmi", Title: tx("金融市場インフラ", "FMI")}},
		Nodes: []*control.Node{{
			ID: "T-1", Kind: control.KindSection, Ref: "1", Area: true, Title: tx("章", "Chapter"),
			Children: []*control.Node{
				{ID: "T-1-B01", Kind: control.KindItem, Ref: "①", Tier: control.TierBasic, Title: tx("項目", "Item"), Text: tx("本文。", "Text."),
					Freq: &control.Frequency{Every: control.Yearly, On: []control.Trigger{control.OnSignificantChange}}},
				{ID: "T-1-Da", Kind: control.KindItem, Ref: "a", Tier: control.TierDesirable, Title: tx("望ましい", "Desirable"), Text: tx("本文。", "Text."),
					Applicability: []control.Applicability{{Condition: "fmi", Scope: control.ScopeOnly}}, Related: []string{"T-1-B01"}},
			},
		}},
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(c *control.Catalog)
		field string // a field the error must name; "" = valid
	}{
		{"valid", func(c *control.Catalog) {}, ""},
		{"bad framework id", func(c *control.Catalog) { c.Framework.ID = "Test Cat" }, "framework.id"},
		{"bad date", func(c *control.Catalog) { c.Edition.Date = "2025-13-01" }, "edition.date"},
		{"no languages", func(c *control.Catalog) { c.Languages = nil }, "languages"},
		{"duplicate id", func(c *control.Catalog) { c.Nodes[0].Children[1].ID = "T-1-B01" }, "nodes[T-1-B01].id"},
		{"bad id", func(c *control.Catalog) { c.Nodes[0].Children[0].ID = "1 bad" }, "nodes[T-1].children[0].id"},
		{"missing english text", func(c *control.Catalog) { delete(c.Nodes[0].Children[0].Text, "en") }, "nodes[T-1-B01].text.en"},
		{"missing japanese title", func(c *control.Catalog) { c.Nodes[0].Title["ja"] = " " }, "nodes[T-1].title.ja"},
		{"title on two lines", func(c *control.Catalog) { c.Nodes[0].Title["en"] = "Two\nlines" }, "nodes[T-1].title.en"},
		{"no tier in tiered catalog", func(c *control.Catalog) { c.Nodes[0].Children[0].Tier = "" }, "nodes[T-1-B01].tier"},
		{"unknown tier", func(c *control.Catalog) { c.Nodes[0].Children[0].Tier = "advanced" }, "nodes[T-1-B01].tier"},
		{"tier on a section", func(c *control.Catalog) { c.Nodes[0].Tier = control.TierBasic }, "nodes[T-1].tier"},
		{"section inside an item", func(c *control.Catalog) {
			c.Nodes[0].Children[0].Children = []*control.Node{{ID: "T-X", Kind: control.KindSection, Title: control.Text{"ja": "x", "en": "x"}}}
		}, "nodes[T-X].kind"},
		{"unknown kind", func(c *control.Catalog) { c.Nodes[0].Kind = "chapter" }, "nodes[T-1].kind"},
		{"nested areas", func(c *control.Catalog) {
			c.Nodes = []*control.Node{{ID: "T-0", Kind: control.KindSection, Area: true, Title: control.Text{"ja": "x", "en": "x"}, Children: c.Nodes}}
		}, "nodes[T-1].area"},
		{"undeclared condition", func(c *control.Catalog) { c.Nodes[0].Children[1].Applicability[0].Condition = "bank" }, "nodes[T-1-Da].applicability[0].condition"},
		{"bad scope", func(c *control.Catalog) { c.Nodes[0].Children[1].Applicability[0].Scope = "some" }, "nodes[T-1-Da].applicability[0].scope"},
		{"related to nothing", func(c *control.Catalog) { c.Nodes[0].Children[1].Related = []string{"T-9"} }, "nodes[T-1-Da].related[0]"},
		{"related to itself", func(c *control.Catalog) { c.Nodes[0].Children[1].Related = []string{"T-1-Da"} }, "nodes[T-1-Da].related[0]"},
		{"unknown trigger", func(c *control.Catalog) { c.Nodes[0].Children[0].Freq.On = []control.Trigger{"monthly"} }, "nodes[T-1-B01].frequency.on[0]"},
		{"every and periodic", func(c *control.Catalog) { c.Nodes[0].Children[0].Freq.Periodic = true }, "nodes[T-1-B01].frequency"},
		{"empty frequency", func(c *control.Catalog) { c.Nodes[0].Children[0].Freq = &control.Frequency{} }, "nodes[T-1-B01].frequency"},
		{"undeclared group", func(c *control.Catalog) { c.Nodes[0].Children[0].Groups = []string{"IG1"} }, "nodes[T-1-B01].groups[0]"},
		{"mapping from nowhere", func(c *control.Catalog) {
			c.Mappings = []control.Mapping{{Source: "T-9", TargetCatalog: "fsa-csgl", Target: "FSA-CSGL-2.3", Relationship: control.RelEqual}}
		}, "mappings[0].source"},
		{"bad relationship", func(c *control.Catalog) {
			c.Mappings = []control.Mapping{{Source: "T-1-B01", TargetCatalog: "fsa-csgl", Target: "FSA-CSGL-2.3", Relationship: "related"}}
		}, "mappings[0].relationship"},
		{"language tag", func(c *control.Catalog) { c.Nodes[0].Title["Japanese"] = "x" }, "nodes[T-1].title.Japanese"},
		{"trailing space", func(c *control.Catalog) { c.Nodes[0].Children[0].Text["en"] = "Text. " }, "nodes[T-1-B01].text.en"},
		{"no nodes", func(c *control.Catalog) { c.Nodes = nil }, "nodes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := small()
			tc.edit(c)
			err := c.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("valid catalog refused: %v", err)
				}
				return
			}
			if mamori.ErrorCode(err) != mamori.EINVALID {
				t.Fatalf("want EINVALID, got %v", err)
			}
			if _, ok := mamori.ErrorFields(err)[tc.field]; !ok {
				t.Errorf("error does not name %s: %v", tc.field, err)
			}
		})
	}
}

func TestValidateCapsProblems(t *testing.T) {
	c := small()
	for i := 0; i < 200; i++ {
		n := &control.Node{ID: "T-N" + strings.Repeat("x", i+1), Kind: control.KindItem, Tier: control.TierBasic, Title: control.Text{"ja": "x"}, Text: control.Text{"ja": "x"}}
		c.Nodes[0].Children = append(c.Nodes[0].Children, n)
	}
	fields := mamori.ErrorFields(c.Validate())
	if len(fields) != 51 || !strings.Contains(fields["…"], "more problems") {
		t.Errorf("want 50 problems and a note, got %d", len(fields))
	}
}

func TestValidateMappings(t *testing.T) {
	lib := shipped(t)
	c := small()
	c.Mappings = []control.Mapping{
		{Source: "T-1-B01", TargetCatalog: "fsa-csgl", Target: "FSA-CSGL-2.3.1-B05", Relationship: control.RelSubset},
		{Source: "T-1-Da", TargetCatalog: "fsa-csgl", Target: "FSA-CSGL-9.9", Relationship: control.RelEqual},
		{Source: "T-1-Da", TargetCatalog: "nist-csf", Target: "PR.AA-01", Relationship: control.RelEqual},
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	fields := mamori.ErrorFields(control.ValidateMappings(c, lib))
	if _, ok := fields["mappings[1].target"]; !ok {
		t.Errorf("missing target not reported: %v", fields)
	}
	if _, ok := fields["mappings[2].target_catalog"]; !ok {
		t.Errorf("missing catalog not reported: %v", fields)
	}
	if _, ok := fields["mappings[0].target"]; ok {
		t.Errorf("valid mapping reported")
	}
}

func TestTreeQueries(t *testing.T) {
	c := mustCatalog(t, "fsa-csgl")
	path, err := c.Path("FSA-CSGL-2.3.4.2-B01")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, n := range path {
		ids = append(ids, n.Ref)
	}
	if got := strings.Join(ids, " > "); got != "2 > 2.3 > 2.3.4 > 2.3.4.2 > ①" {
		t.Errorf("path = %s", got)
	}
	area, _ := c.Area("FSA-CSGL-2.3.4.2-B01")
	if area == nil || area.ID != "FSA-CSGL-2.3" {
		t.Errorf("area = %v", area)
	}
	if a, _ := c.Area("FSA-CSGL-1.1"); a != nil {
		t.Errorf("section 1 lies outside the areas, got %s", a.ID)
	}
	p, _ := c.Parent("FSA-CSGL-2.2.1-B01")
	if p == nil || p.ID != "FSA-CSGL-2.2.1" {
		t.Errorf("parent = %v", p)
	}
	if _, err := c.Node("FSA-CSGL-9"); mamori.ErrorCode(err) != mamori.ENOTFOUND {
		t.Errorf("unknown node: %v", err)
	}
	hints, _ := c.EvidenceHints("FSA-CSGL-2.2.1.2-De")
	if len(hints) < 4 || hints[0]["ja"] != "サポート終了日とバージョンを含むハードウェア・ソフトウェア台帳" {
		t.Errorf("evidence hints should come from the section, then its parent: %v", hints)
	}
	n, _ := c.Node("FSA-CSGL-2.6-De")
	if n.AppliesAlways() {
		t.Error("2.6 e applies only to designated providers")
	}
	n, _ = c.Node("FSA-CSGL-2.3.3-B05")
	if !n.AppliesAlways() || n.Applicability[0].Condition != "fmi" {
		t.Error("2.3.3 ⑤ applies to all, with an FMI clause")
	}
	if got := n.Freq.Describe("ja"); got != "" {
		t.Errorf("2.3.3 ⑤ has no frequency, got %q", got)
	}
	n, _ = c.Node("FSA-CSGL-2.1.1-B04")
	if got := n.Freq.Describe("ja"); got != "年1回以上、重要な変更時" {
		t.Errorf("describe = %q", got)
	}
	if got := n.Freq.Describe("en"); got != "at least once a year, on significant change" {
		t.Errorf("describe = %q", got)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	for _, c := range shipped(t).List() {
		var buf bytes.Buffer
		if err := control.EncodeJSON(&buf, c); err != nil {
			t.Fatal(err)
		}
		back, err := control.DecodeJSON(buf.Bytes())
		if err != nil {
			t.Fatalf("%s: decode own export: %v", c.Key(), err)
		}
		var again bytes.Buffer
		if err := control.EncodeJSON(&again, back); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), again.Bytes()) {
			t.Errorf("%s: JSON export is not stable across a round trip", c.Key())
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	var buf bytes.Buffer
	if err := control.EncodeJSON(&buf, small()); err != nil {
		t.Fatal(err)
	}
	good := buf.String()
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"syntax", "{\n  \"schema\": \"mamori.catalog/v1\",\n  \"framework\": {,\n}", "line 3, column 17"},
		{"type", strings.Replace(good, `"tiered": true`, `"tiered": "yes"`, 1), "field \"tiered\""},
		{"unknown field", strings.Replace(good, `"tiered": true`, `"tiered": true, "colour": 1`, 1), "colour"},
		{"schema", strings.Replace(good, control.Schema, "other/v9", 1), "schema"},
		{"summary mismatch", strings.Replace(good, `"items": 2`, `"items": 3`, 1), "summary"},
		{"empty", "", "empty"},
		{"cut off", good[:200], "ends too early, at line"},
		{"trailing", good + "{}", "after the catalog"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := control.DecodeJSON([]byte(tc.doc))
			if err == nil {
				t.Fatal("accepted")
			}
			if mamori.ErrorCode(err) != mamori.EINVALID {
				t.Errorf("code = %s", mamori.ErrorCode(err))
			}
			if msg := mamori.ErrorMessage(err) + " " + strings.Join(keys(mamori.ErrorFields(err)), " ") + " " + err.Error(); !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not mention %q", msg, tc.want)
			}
		})
	}
	_, err := control.DecodeYAML([]byte("schema: mamori.catalog/v1\nframework:\n  id: x\n  nmae: y\n"))
	if err == nil || !strings.Contains(mamori.ErrorMessage(err), "[4:3]") {
		t.Errorf("YAML error should give the line: %v", err)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func FuzzDecodeJSON(f *testing.F) {
	var buf bytes.Buffer
	_ = control.EncodeJSON(&buf, small())
	f.Add(buf.Bytes())
	f.Add([]byte(`{"schema":"mamori.catalog/v1","nodes":[{"id":"A","kind":"item","children":[null]}]}`))
	f.Add([]byte(`{"schema":"mamori.catalog/v1","nodes":[{"frequency":{"every":"P1Y"}}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := control.DecodeJSON(data)
		if err != nil {
			if mamori.ErrorCode(err) == mamori.EINTERNAL {
				t.Fatalf("decode error without a code: %v", err)
			}
			return
		}
		// Anything accepted must export and re-import.
		var out bytes.Buffer
		if err := control.EncodeJSON(&out, c); err != nil {
			t.Fatal(err)
		}
		if _, err := control.DecodeJSON(out.Bytes()); err != nil {
			t.Fatalf("re-import of an accepted catalog failed: %v", err)
		}
	})
}

func FuzzDecodeYAML(f *testing.F) {
	f.Add([]byte("schema: mamori.catalog/v1\nframework: {id: a-b, name: {en: x}}\nedition: {date: \"2025-01-01\"}\nlanguages: [en]\nnodes:\n  - {id: A, kind: item, title: {en: t}, text: {en: x}}\n"))
	f.Add([]byte("nodes: [&a {children: [*a]}]"))
	f.Add([]byte("- - - -"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := control.DecodeYAML(data)
		if err != nil && mamori.ErrorCode(err) == mamori.EINTERNAL {
			t.Fatalf("decode error without a code: %v", err)
		}
	})
}

func TestSlugAndTokens(t *testing.T) {
	for in, want := range map[string]string{
		"NIST Special Publication 800-53 Revision 5.1.1 MODERATE IMPACT BASELINE": "nist-special-publication-800-53-revision-5.1.1-moderate-impact-baseline",
		"NIST SP 800-53 Rev. 5": "nist-sp-800-53-rev-5",
		"ANSSI-GUIDE-HYGIENE":   "anssi-guide-hygiene",
		"金融庁 ガイドライン 2025":       "2025",
		"  --x--  ":             "x",
	} {
		if got := control.Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
		if want != "" && !control.ValidFrameworkID(control.Slug(in)) {
			t.Errorf("Slug(%q) is not a valid framework ID", in)
		}
	}
	for tok, ok := range map[string]bool{"FSA-CSGL-2.2.3-B03": true, "ac-2.1": true, "_x": true, "1a": false, "a b": false, "ä": false, "": false} {
		if control.ValidToken(tok) != ok {
			t.Errorf("ValidToken(%q) = %v", tok, !ok)
		}
	}
}
