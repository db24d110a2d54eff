package oscal_test

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/control"
	"github.com/mamori-dev/mamori/internal/format/oscal"
)

const nistFile = "testdata/NIST_SP-800-53_rev5_MODERATE-baseline-resolved-profile_catalog.json"

var schema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	f, err := os.Open("testdata/oscal_complete_schema-1-1-3.json")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("oscal_complete_schema.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("oscal_complete_schema.json")
})

func validateSchema(t *testing.T, data []byte) {
	t.Helper()
	sch, err := schema()
	if err != nil {
		t.Fatalf("compile OSCAL schema: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		msg := err.Error()
		if len(msg) > 3000 {
			msg = msg[:3000] + "…"
		}
		t.Fatalf("export does not validate against the OSCAL 1.1.3 schema:\n%s", msg)
	}
}

func shipped(t *testing.T) []*control.Catalog {
	t.Helper()
	lib, err := control.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	return lib.List()
}

// The schema check must be able to fail: a broken document is refused.
func TestSchemaRejectsBrokenDocument(t *testing.T) {
	sch, err := schema()
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{
		`{"catalog":{"uuid":"not-a-uuid","metadata":{"title":"x","last-modified":"2025-01-01T00:00:00Z","version":"1","oscal-version":"1.1.3"}}}`,
		`{"catalog":{"uuid":"6ba7b810-9dad-51d1-80b4-00c04fd430c8","metadata":{"title":"x","last-modified":"2025-01-01T00:00:00Z","version":"1","oscal-version":"1.1.3"},"controls":[{"id":"1bad","title":"x"}]}}`,
		`{"catalog":{"uuid":"6ba7b810-9dad-51d1-80b4-00c04fd430c8","metadata":{"title":"x","last-modified":"2025-01-01T00:00:00Z","version":"1","oscal-version":"1.1.3","props":[]}}}`,
		`{"catalog":{"uuid":"6ba7b810-9dad-51d1-80b4-00c04fd430c8","metadata":{"title":"x","last-modified":"2025-01-01T00:00:00Z","version":"1","oscal-version":"1.1.3","props":[{"name":"a","value":"two\nlines"}]}}}`,
	} {
		inst, _ := jsonschema.UnmarshalJSON(strings.NewReader(doc))
		if sch.Validate(inst) == nil {
			t.Errorf("schema accepted %s", doc)
		}
	}
}

func TestExportValidatesAndRoundTrips(t *testing.T) {
	for _, c := range shipped(t) {
		for _, lang := range []string{"ja", "en"} {
			t.Run(c.Framework.ID+"/"+lang, func(t *testing.T) {
				var buf bytes.Buffer
				if err := oscal.Encode(&buf, c, oscal.ExportOptions{Lang: lang}); err != nil {
					t.Fatal(err)
				}
				validateSchema(t, buf.Bytes())
				back, err := oscal.Decode(buf.Bytes(), oscal.ImportOptions{})
				if err != nil {
					t.Fatalf("import own export: %v", err)
				}
				if !reflect.DeepEqual(jsonOf(t, c), jsonOf(t, back)) {
					a, b := jsonOf(t, c), jsonOf(t, back)
					t.Fatalf("round trip changed the catalog:\n%s", firstDiff(a, b))
				}
				// The standard fields hold the chosen language.
				var raw struct {
					Catalog struct {
						Metadata struct{ Title string } `json:"metadata"`
					} `json:"catalog"`
				}
				_ = json.Unmarshal(buf.Bytes(), &raw)
				if raw.Catalog.Metadata.Title != c.Framework.Name[lang] {
					t.Errorf("title = %q, want the %s name", raw.Catalog.Metadata.Title, lang)
				}
			})
		}
	}
}

func TestExportIsStable(t *testing.T) {
	c := shipped(t)[2]
	var a, b bytes.Buffer
	_ = oscal.Encode(&a, c, oscal.ExportOptions{})
	_ = oscal.Encode(&b, c, oscal.ExportOptions{})
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two exports of the same catalog differ")
	}
	if !strings.Contains(a.String(), `"id": "FSA-CSGL-2.2.3-B03"`) {
		t.Error("control IDs should be the catalog's stable IDs")
	}
}

func TestImportNIST(t *testing.T) {
	data, err := os.ReadFile(nistFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := oscal.Decode(data, oscal.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Framework.ID != "nist-special-publication-800-53-revision-5.1.1-moderate-impact-baseline" {
		t.Errorf("id = %s", c.Framework.ID)
	}
	if c.Edition.Date != "2024-02-13" || c.Edition.Version != "5.1.1+u4" {
		t.Errorf("edition = %+v", c.Edition)
	}
	if len(c.Nodes) != 18 {
		t.Errorf("%d families, want 18", len(c.Nodes))
	}
	top, enh := 0, 0
	_ = c.Walk(func(n, parent *control.Node, _ int) error {
		if n.Assessable() {
			if parent.Kind == control.KindSection {
				top++
			} else {
				enh++
			}
		}
		return nil
	})
	if top != 177 || enh != 110 || c.Count().Items != 287 {
		t.Errorf("controls = %d + %d enhancements, want 177 + 110", top, enh)
	}
	ac2, err := c.Node("ac-2")
	if err != nil {
		t.Fatal(err)
	}
	if ac2.Ref != "AC-2" || ac2.Title["en"] != "Account Management" {
		t.Errorf("ac-2 = %q %q", ac2.Ref, ac2.Title["en"])
	}
	for _, want := range []string{
		"a. Define and document the types of accounts allowed",
		"c. Require [Assignment: organization-defined prerequisites and criteria] for group and role membership;",
		"  1. Authorized users of the system;",
	} {
		if !strings.Contains(ac2.Text["en"], want) {
			t.Errorf("ac-2 text lacks %q:\n%s", want, ac2.Text["en"])
		}
	}
	ac1, _ := c.Node("ac-1")
	if !strings.Contains(ac1.Text["en"], "[Selection (one or more): organization-level; mission/business process-level; system-level]") {
		t.Errorf("selection parameter not rendered:\n%s", ac1.Text["en"])
	}
	if ac2.Guidance["en"] == "" || !strings.Contains(strings.Join(ac2.Related, " "), "ac-3") {
		t.Errorf("ac-2 should keep guidance and related controls in the baseline: %v", ac2.Related)
	}
	for _, r := range ac2.Related {
		if !c.Has(r) {
			t.Errorf("related %s is not in the catalog", r)
		}
	}
	enh1, _ := c.Node("ac-2.1")
	if enh1.Ref != "AC-2(1)" {
		t.Errorf("enhancement ref = %q", enh1.Ref)
	}
	// A foreign catalog re-exports to valid OSCAL.
	var buf bytes.Buffer
	if err := oscal.Encode(&buf, c, oscal.ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	validateSchema(t, buf.Bytes())
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"syntax", "{\n\"catalog\": {\n  \"uuid\": ]}}", "line 3, column 11"},
		{"profile", `{"profile":{"uuid":"6ba7b810-9dad-51d1-80b4-00c04fd430c8","metadata":{"title":"p","last-modified":"2025-01-01T00:00:00Z","version":"1","oscal-version":"1.1.3"},"imports":[]}}`, "profile"},
		{"wrong type", `{"catalog":{"uuid":"u","metadata":{"title":5}}}`, "OSCAL field"},
		{"bad date", `{"catalog":{"uuid":"u","metadata":{"title":"x","last-modified":"yesterday"}}}`, "date-time"},
		{"empty", ``, "not a valid OSCAL"},
		{"no controls", `{"catalog":{"uuid":"u","metadata":{"title":"T","last-modified":"2025-01-01T00:00:00Z","version":"1","oscal-version":"1.1.3"}}}`, "no requirements"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := oscal.Decode([]byte(tc.doc), oscal.ImportOptions{})
			if mamori.ErrorCode(err) != mamori.EINVALID {
				t.Fatalf("want EINVALID, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"catalog":{"uuid":"u","metadata":{"title":"T","last-modified":"2025-01-01T00:00:00Z","version":"1","oscal-version":"1.1.3"},"groups":[{"id":"g","title":"G","controls":[{"id":"c-1","title":"C","parts":[{"name":"statement","prose":"do {{ insert: param, p1 }}","parts":[{"name":"item","prose":"x"}]}],"params":[{"id":"p1","select":{"choice":["{{ insert: param, p1 }}"]}}]}]}]}}`))
	f.Add([]byte(`{"catalog":{"metadata":{"props":[{"ns":"urn:mamori:oscal","name":"mapping","value":":","group":"m0"}]},"controls":[{"id":"","props":[{"ns":"urn:mamori:oscal","name":"frequency-every","value":"P"}]}]}}`))
	var buf bytes.Buffer
	if lib, err := control.Shipped(); err == nil {
		c, _ := lib.Catalog("fsa-2022-advisory")
		_ = oscal.Encode(&buf, c, oscal.ExportOptions{})
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := oscal.Decode(data, oscal.ImportOptions{})
		if err != nil {
			if mamori.ErrorCode(err) != mamori.EINVALID && mamori.ErrorCode(err) != mamori.ETOOLARGE {
				t.Fatalf("error without a user-facing code: %v", err)
			}
			return
		}
		if _, err := oscal.Export(c, oscal.ExportOptions{}); err != nil {
			t.Fatalf("an imported catalog must export: %v", err)
		}
	})
}

func jsonOf(t *testing.T, c *control.Catalog) string {
	t.Helper()
	var buf bytes.Buffer
	if err := control.EncodeJSON(&buf, c); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			lo := max(0, i-3)
			return "want: " + strings.Join(al[lo:min(len(al), i+3)], "\n") + "\n got: " + strings.Join(bl[lo:min(len(bl), i+3)], "\n")
		}
	}
	return "lengths differ"
}
