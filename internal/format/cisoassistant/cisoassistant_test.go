package cisoassistant_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/control"
	"github.com/mamori-dev/mamori/internal/format/cisoassistant"
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestNISTCSF(t *testing.T) {
	c, err := cisoassistant.Decode(read(t, "nist-csf-2.0.yaml"), cisoassistant.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Framework.ID != "nist-csf-2.0" || c.Edition.Date != "2026-06-03" || c.Edition.Version != "6" {
		t.Errorf("header = %s %s %s", c.Framework.ID, c.Edition.Date, c.Edition.Version)
	}
	if c.PrimaryLanguage() != "en" || c.Framework.Publisher["en"] != "NIST" {
		t.Errorf("language %s, publisher %v", c.PrimaryLanguage(), c.Framework.Publisher)
	}
	sections := 0
	_ = c.Walk(func(n, _ *control.Node, _ int) error {
		if n.Kind == control.KindSection {
			sections++
		}
		return nil
	})
	if got := c.Count().Items; got != 106 || sections != 28 || len(c.Nodes) != 6 {
		t.Errorf("items %d sections %d functions %d, want 106, 28, 6", got, sections, len(c.Nodes))
	}
	n, err := c.Node("NIST-CSF-2.0-GV.OC-01")
	if err != nil {
		t.Fatal(err)
	}
	path, _ := c.Path(n.ID)
	if len(path) != 3 || path[0].Ref != "GV" || path[1].Ref != "GV.OC" {
		t.Errorf("GV.OC-01 should sit under GV > GV.OC")
	}
	if n.Title["en"] != "GV.OC-01" || !strings.Contains(n.Text["en"], "mission") || n.Text["fr"] == "" || n.Text["es"] == "" {
		t.Errorf("GV.OC-01: title %q, text %v", n.Title["en"], n.Text)
	}
	if n.Guidance["en"] == "" || !strings.HasPrefix(n.ExternalID, "urn:intuitem:risk:req_node:nist-csf-2.0:") {
		t.Errorf("guidance or URN lost: %q", n.ExternalID)
	}
	gv, _ := c.Node("NIST-CSF-2.0-GV")
	if gv.Title["fr"] == "" {
		t.Error("French name of GV lost")
	}
}

func TestANSSIWithTiers(t *testing.T) {
	data := read(t, "anssi-guide-hygiene.yaml")
	c, err := cisoassistant.Decode(data, cisoassistant.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.PrimaryLanguage() != "fr" || c.Tiered || len(c.Groups) != 2 {
		t.Errorf("lang %s tiered %v groups %d", c.PrimaryLanguage(), c.Tiered, len(c.Groups))
	}
	if c.Groups[1].ID != "R" || c.Groups[1].Title["en"] != "strengthened" {
		t.Errorf("group R = %+v", c.Groups[1])
	}
	if got := c.Count().Items; got != 61 {
		t.Errorf("%d items, want 61", got)
	}
	n, err := c.Node("ANSSI-GUIDE-HYGIENE-5")
	if err != nil {
		t.Fatal(err)
	}
	if n.Groups[0] != "S" || !strings.HasPrefix(n.Title["en"], "Have an exhaustive inventory of privileged accounts") {
		t.Errorf("item 5 = %v %q", n.Groups, n.Title["en"])
	}

	tiered, err := cisoassistant.Decode(data, cisoassistant.Options{
		ID:    "anssi-hygiene",
		Tiers: map[string]control.Tier{"S": control.TierBasic, "R": control.TierDesirable},
	})
	if err != nil {
		t.Fatal(err)
	}
	k := tiered.Count()
	if tiered.Framework.ID != "anssi-hygiene" || k.ByTier[control.TierBasic] != 39 || k.ByTier[control.TierDesirable] != 22 {
		t.Errorf("tiers = %+v", k)
	}
	// Imported catalogs export and re-import as mamori JSON.
	var buf bytes.Buffer
	if err := control.EncodeJSON(&buf, tiered); err != nil {
		t.Fatal(err)
	}
	if _, err := control.DecodeJSON(buf.Bytes()); err != nil {
		t.Fatalf("re-import: %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	base := "urn: urn:x:library:t\nlocale: en\nref_id: T\npublication_date: 2025-01-01\nobjects:\n  framework:\n    urn: urn:x:framework:t\n    ref_id: T\n    name: Test\n    requirement_nodes:\n"
	node := func(urn, parent string, assessable bool) string {
		s := "    - urn: " + urn + "\n      ref_id: " + urn[len(urn)-1:] + "\n      name: N\n      description: D\n      assessable: " + map[bool]string{true: "true", false: "false"}[assessable] + "\n"
		if parent != "" {
			s += "      parent_urn: " + parent + "\n"
		}
		return s
	}
	for _, tc := range []struct{ name, doc, want string }{
		{"yaml syntax", "urn: [\n", "not a valid CISO Assistant library"},
		{"type", "urn: x\nobjects:\n  framework:\n    requirement_nodes: 5\n", "[4:24]"},
		{"no framework", "urn: x\nobjects:\n  requirement_mapping_set: {}\n", "requirement_mapping_set"},
		{"no objects", "urn: x\n", "no objects.framework"},
		{"missing parent", base + node("urn:n:a", "", false) + node("urn:n:b", "urn:n:z", true), "requirement_nodes[1].parent_urn"},
		{"duplicate urn", base + node("urn:n:a", "", true) + node("urn:n:a", "", true), "requirement_nodes[1].urn"},
		{"cycle", base + node("urn:n:a", "urn:n:b", false) + node("urn:n:b", "urn:n:a", true), "cycle"},
		{"no date", strings.Replace(base, "publication_date: 2025-01-01\n", "", 1) + node("urn:n:a", "", true), "publication_date"},
		{"no nodes", base, "no requirements"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cisoassistant.Decode([]byte(tc.doc), cisoassistant.Options{})
			if mamori.ErrorCode(err) != mamori.EINVALID {
				t.Fatalf("want EINVALID, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
	// A heading below a requirement becomes a sub-item rather than failing.
	c, err := cisoassistant.Decode([]byte(base+node("urn:n:a", "", true)+node("urn:n:b", "urn:n:a", false)), cisoassistant.Options{})
	if err != nil || c.Count().Items != 2 {
		t.Errorf("nested heading: %v, %+v", err, c)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte("urn: u\nlocale: en\npublication_date: 2025-01-01\nobjects:\n  framework:\n    urn: f\n    ref_id: T\n    requirement_nodes:\n    - {urn: a, assessable: false, ref_id: A, name: A}\n    - {urn: b, parent_urn: a, assessable: true, ref_id: '1', description: x, implementation_groups: [S]}\n"))
	f.Add([]byte("objects: {framework: {requirement_nodes: [{urn: a, parent_urn: a}]}}"))
	f.Add([]byte("objects: {framework: {implementation_groups_definition: [{ref_id: '1 x'}]}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := cisoassistant.Decode(data, cisoassistant.Options{EditionDate: "2025-01-01"})
		if err != nil {
			if code := mamori.ErrorCode(err); code != mamori.EINVALID && code != mamori.ETOOLARGE {
				t.Fatalf("error without a user-facing code: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Decode returned an invalid catalog: %v", err)
		}
	})
}

func BenchmarkDecodeCSF(b *testing.B) {
	data := read(b, "nist-csf-2.0.yaml")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cisoassistant.Decode(data, cisoassistant.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
