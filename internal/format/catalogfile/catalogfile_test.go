package catalogfile_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/control"
	"github.com/mamori-dev/mamori/internal/format/catalogfile"
	"github.com/mamori-dev/mamori/internal/format/oscal"
)

func fsa(t testing.TB) *control.Catalog {
	t.Helper()
	lib, err := control.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	c, err := lib.Catalog("fsa-csgl")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDetectAndDecode(t *testing.T) {
	c := fsa(t)
	var js, osc bytes.Buffer
	if err := control.EncodeJSON(&js, c); err != nil {
		t.Fatal(err)
	}
	if err := oscal.Encode(&osc, c, oscal.ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	shippedYAML, err := os.ReadFile("../../control/catalogs/fsa-2022-advisory.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ciso, err := os.ReadFile("../cisoassistant/testdata/nist-csf-2.0.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		data  []byte
		want  catalogfile.Format
		items int
	}{
		{"mamori json", js.Bytes(), catalogfile.MamoriJSON, 176},
		{"mamori json with BOM", append([]byte("\xef\xbb\xbf"), js.Bytes()...), catalogfile.MamoriJSON, 176},
		{"oscal", osc.Bytes(), catalogfile.OSCAL, 176},
		{"mamori yaml", shippedYAML, catalogfile.MamoriYAML, 7},
		{"ciso assistant", ciso, catalogfile.CISOAssistant, 106},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := catalogfile.Detect(tc.data)
			if err != nil || f != tc.want {
				t.Fatalf("Detect = %s, %v; want %s", f, err, tc.want)
			}
			data := bytes.TrimPrefix(tc.data, []byte("\xef\xbb\xbf"))
			got, f, err := catalogfile.Decode(data, catalogfile.Options{})
			if err != nil || f != tc.want || got.Count().Items != tc.items {
				t.Fatalf("Decode: %v (%s)", err, f)
			}
		})
	}
	for _, bad := range []string{"", "   ", `{"profile":{}}`, `{"x":1}`, "name: x\nitems: []\n"} {
		if _, err := catalogfile.Detect([]byte(bad)); mamori.ErrorCode(err) != mamori.EINVALID {
			t.Errorf("Detect(%q) = %v, want EINVALID", bad, err)
		}
	}
	// Broken JSON goes to the format's decoder, which names the line.
	_, _, err = catalogfile.Decode([]byte("{\n\"catalog\": {\n  \"uuid\": ]}}"), catalogfile.Options{})
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("broken OSCAL: %v", err)
	}
	// --id renames a mamori catalog too.
	got, _, err := catalogfile.Decode(js.Bytes(), catalogfile.Options{ID: "fsa-csgl-draft"})
	if err != nil || got.Key() != "fsa-csgl-draft@2025-07-04" {
		t.Errorf("rename: %v", err)
	}
}

func TestParseOptions(t *testing.T) {
	for in, want := range map[string]catalogfile.Format{"": catalogfile.Auto, "auto": catalogfile.Auto, "json": catalogfile.MamoriJSON, "OSCAL": catalogfile.OSCAL, "ciso": catalogfile.CISOAssistant, "yaml": catalogfile.MamoriYAML} {
		if got, err := catalogfile.ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %s, %v", in, got, err)
		}
	}
	if _, err := catalogfile.ParseFormat("xlsx"); mamori.ErrorCode(err) != mamori.EINVALID {
		t.Error("xlsx is not a catalog import format here")
	}
	m, err := catalogfile.ParseTiers(" S=basic, R=desirable ")
	if err != nil || m["S"] != control.TierBasic || m["R"] != control.TierDesirable {
		t.Errorf("ParseTiers = %v, %v", m, err)
	}
	for _, bad := range []string{"S", "S=", "=basic", "S=advanced"} {
		if _, err := catalogfile.ParseTiers(bad); err == nil {
			t.Errorf("ParseTiers(%q) accepted", bad)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"schema":"mamori.catalog/v1"}`))
	f.Add([]byte(`{"catalog":{}}`))
	f.Add([]byte("schema: mamori.catalog/v1\n"))
	f.Add([]byte("objects:\n  framework: {}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _, err := catalogfile.Decode(data, catalogfile.Options{EditionDate: "2025-01-01"})
		if err != nil {
			if code := mamori.ErrorCode(err); code != mamori.EINVALID && code != mamori.ETOOLARGE {
				t.Fatalf("error without a user-facing code: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("invalid catalog returned: %v", err)
		}
	})
}
