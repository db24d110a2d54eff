package cyclonedx_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/format/cyclonedx"
	"github.com/mamori-dev/mamori/internal/sbom"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func TestDecodeRealSBOMs(t *testing.T) {
	tests := []struct {
		file       string
		spec       string
		enc        sbom.Encoding
		components int
		name       string
		// one component to check field by field
		ref, purl, version, license string
	}{
		{"proton-bridge-v1.8.0.cdx.json", "1.2", sbom.EncodingJSON, 201, "github.com/ProtonMail/proton-bridge",
			"pkg:golang/github.com/gin-gonic/gin@v1.4.0", "pkg:golang/github.com/gin-gonic/gin@v1.4.0", "v1.4.0", "MIT"},
		{"SBOM_laravel-7.12.0_bom.1.4.json", "1.4", sbom.EncodingJSON, 62, "cyclonedx/cyclonedx-php-composer-demo",
			"", "pkg:composer/asm89/stack-cors@1.3.0", "1.3.0", "MIT"},
		{"SBOM_cern-lhc-vdm-editor-e564943_bom.json", "1.2", sbom.EncodingJSON, 43, "lhc-vdm-editor",
			"", "pkg:npm/puppeteer@1.19.0", "1.19.0", "Apache-2.0"},
		{"SBOM_juice-shop_v11.1.2_bom.xml.gz", "1.2", sbom.EncodingXML, 840, "juice-shop",
			"", "pkg:npm/body-parser@1.19.0", "1.19.0", "MIT"},
		{"SBOM_dropwizard-1.3.15_bom.json.gz", "1.2", sbom.EncodingJSON, 167, "io.dropwizard/dropwizard-parent",
			"", "pkg:maven/com.fasterxml.jackson.core/jackson-annotations@2.9.10?type=jar", "2.9.10", "Apache-2.0"},
		{"VEX_vex.json", "1.4", sbom.EncodingJSON, 0, "", "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data := readTestdata(t, tt.file)
			if !(cyclonedx.Decoder{}).Detect(data) {
				t.Fatal("Detect = false")
			}
			doc, err := cyclonedx.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if doc.Format != sbom.FormatCycloneDX || doc.SpecVersion != tt.spec || doc.Encoding != tt.enc {
				t.Errorf("format %s %s %s, want CycloneDX %s %s", doc.Format, doc.SpecVersion, doc.Encoding, tt.spec, tt.enc)
			}
			if len(doc.Components) != tt.components {
				t.Errorf("%d components, want %d", len(doc.Components), tt.components)
			}
			if doc.Name != tt.name {
				t.Errorf("name %q, want %q", doc.Name, tt.name)
			}
			if tt.purl == "" {
				return
			}
			var found *sbom.Component
			for i := range doc.Components {
				if doc.Components[i].PURL == tt.purl {
					found = &doc.Components[i]
				}
			}
			if found == nil {
				t.Fatalf("no component with purl %s", tt.purl)
			}
			if found.Version != tt.version || (tt.ref != "" && found.Ref != tt.ref) {
				t.Errorf("component %+v: want version %s ref %q", found, tt.version, tt.ref)
			}
			if len(found.Licenses) == 0 || found.Licenses[0] != tt.license {
				t.Errorf("licences %v, want %s", found.Licenses, tt.license)
			}
			if len(found.Hashes) == 0 && tt.enc == sbom.EncodingJSON && !strings.Contains(tt.file, "laravel") {
				t.Errorf("no hashes on %s", found.PURL)
			}
		})
	}
}

func TestDependencies(t *testing.T) {
	doc, err := cyclonedx.Decode(readTestdata(t, "proton-bridge-v1.8.0.cdx.json"))
	if err != nil {
		t.Fatal(err)
	}
	var gin sbom.Component
	for _, c := range doc.Components {
		if c.Name == "github.com/gin-gonic/gin" {
			gin = c
		}
	}
	if len(gin.DependsOn) == 0 {
		t.Fatalf("gin has no dependencies: %+v", gin)
	}
	if doc.Subject == nil || doc.Subject.PURL != "pkg:golang/github.com/ProtonMail/proton-bridge@v1.8.0" {
		t.Errorf("subject %+v", doc.Subject)
	}
	if len(doc.Tools) != 1 || doc.Tools[0] != "CycloneDX cyclonedx-gomod v0.6.1" {
		t.Errorf("tools %v", doc.Tools)
	}
	if doc.Created.IsZero() {
		t.Error("no creation time")
	}
}

// TestSpecVersions writes a BOM with nested components in every spec
// version and both encodings with cyclonedx-go's encoder, and reads it back.
func TestSpecVersions(t *testing.T) {
	nested := []cdx.Component{{Type: cdx.ComponentTypeLibrary, BOMRef: "child", Name: "child", Version: "2.0.0", PackageURL: "pkg:npm/child@2.0.0"}}
	bom := cdx.NewBOM()
	bom.SerialNumber = "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"
	bom.Metadata = &cdx.Metadata{Timestamp: "2024-01-02T03:04:05Z", Component: &cdx.Component{Type: cdx.ComponentTypeApplication, Name: "app", Version: "1.0.0"}}
	bom.Components = &[]cdx.Component{
		{Type: cdx.ComponentTypeLibrary, BOMRef: "parent", Group: "@scope", Name: "parent", Version: "1.2.3",
			PackageURL: "pkg:npm/%40scope/parent@1.2.3", CPE: "cpe:2.3:a:scope:parent:1.2.3:*:*:*:*:*:*:*",
			Supplier:   &cdx.OrganizationalEntity{Name: "Scope Inc."},
			Hashes:     &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: "0123"}},
			Licenses:   &cdx.Licenses{{License: &cdx.License{ID: "MIT"}}},
			Components: &nested},
		{Type: cdx.ComponentTypeLibrary, BOMRef: "other", Name: "other", Version: "0.1.0", PackageURL: "pkg:npm/other@0.1.0"},
	}
	bom.Dependencies = &[]cdx.Dependency{{Ref: "parent", Dependencies: &[]string{"other"}}}
	for _, v := range []cdx.SpecVersion{cdx.SpecVersion1_2, cdx.SpecVersion1_3, cdx.SpecVersion1_4, cdx.SpecVersion1_5, cdx.SpecVersion1_6} {
		for _, f := range []cdx.BOMFileFormat{cdx.BOMFileFormatJSON, cdx.BOMFileFormatXML} {
			var buf bytes.Buffer
			if err := cdx.NewBOMEncoder(&buf, f).EncodeVersion(bom, v); err != nil {
				t.Fatal(err)
			}
			doc, err := sbom.Decoders{cyclonedx.Decoder{}}.Decode("gen", buf.Bytes())
			if err != nil {
				t.Fatalf("%s/%d: %v", v, f, err)
			}
			if doc.SpecVersion != v.String() {
				t.Errorf("spec %s, want %s", doc.SpecVersion, v)
			}
			if len(doc.Components) != 3 {
				t.Fatalf("%s: %d components, want 3 (nested flattened)", v, len(doc.Components))
			}
			p, c := doc.Components[0], doc.Components[1]
			if c.Name != "child" || c.Parent != "parent" {
				t.Errorf("%s: nested component %+v", v, c)
			}
			if p.Group != "@scope" || p.CPE == "" || p.Supplier != "Scope Inc." || len(p.Hashes) != 1 || len(p.Licenses) != 1 || p.Licenses[0] != "MIT" {
				t.Errorf("%s/%d: parent %+v", v, f, p)
			}
			if len(p.DependsOn) != 1 || p.DependsOn[0] != "other" {
				t.Errorf("%s: dependsOn %v", v, p.DependsOn)
			}
			if doc.Created.IsZero() || doc.SerialNumber == "" || doc.Name != "app" {
				t.Errorf("%s: metadata %+v", v, doc)
			}
		}
	}
}

func TestMalformed(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"truncated json", `{"bomFormat":"CycloneDX","specVersion":"1.4","components":[{"type":"library","name":"a"`, "line 1"},
		{"wrong bomFormat", `{"bomFormat":"SPDX","specVersion":"1.4"}`, "bomFormat"},
		{"unknown spec", `{"bomFormat":"CycloneDX","specVersion":"9.9"}`, ""},
		{"missing spec", `{"bomFormat":"CycloneDX"}`, "specVersion"},
		{"type error", "{\"bomFormat\":\"CycloneDX\",\n\"specVersion\":\"1.4\",\n\"components\":{}}", "line 3"},
		{"nameless component", `{"bomFormat":"CycloneDX","specVersion":"1.4","components":[{"type":"library"}]}`, "components[0]"},
		{"truncated xml", `<?xml version="1.0"?><bom xmlns="http://cyclonedx.org/schema/bom/1.4" version="1"><components><component type="library"><name>a</name>`, "truncated"},
		{"foreign namespace", `<bom xmlns="http://example.com/bom"><components/></bom>`, "namespace"},
		{"not cdx", `hello`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := cyclonedx.Decode([]byte(tt.data))
			if err == nil || doc != nil {
				t.Fatalf("got %v, %v; want an error and no document", doc, err)
			}
			if mamori.ErrorCode(err) != mamori.EINVALID {
				t.Errorf("code %s, want invalid: %v", mamori.ErrorCode(err), err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

// TestTruncatedReal cuts a real SBOM at many points: every cut must be
// refused with an error, never half-imported.
func TestTruncatedReal(t *testing.T) {
	for _, f := range []string{"SBOM_laravel-7.12.0_bom.1.4.json", "SBOM_juice-shop_v11.1.2_bom.xml.gz"} {
		data := readTestdata(t, f)
		for cut := 1; cut < len(data)-20; cut += len(data) / 97 {
			if doc, err := cyclonedx.Decode(data[:cut]); err == nil {
				t.Errorf("%s cut at %d: decoded %d components, want an error", f, cut, len(doc.Components))
			}
		}
	}
}

// TestSharedData decodes every real CycloneDX SBOM in ../shared/data when
// present and checks the component count the file holds.
func TestSharedData(t *testing.T) {
	dir := sharedData(t, "sbom/cyclonedx")
	want := map[string]int{
		"keycloak-10.0.2.cdx.json":                      903,
		"SBOM_juice-shop_v11.1.2_bom.json":              840,
		"SBOM_protonmail-webclient-v4-0912dff_bom.json": 883,
		"SBOM_dropwizard-1.3.15_bom.json":               167,
		"proton-bridge-v1.8.0.cdx.json":                 201,
	}
	for f, n := range want {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := cyclonedx.Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(doc.Components) != n {
			t.Errorf("%s: %d components, want %d", f, len(doc.Components), n)
		}
	}
}

func sharedData(tb testing.TB, sub string) string {
	tb.Helper()
	root := os.Getenv("MAMORI_SHARED_DATA")
	if root == "" {
		root = filepath.Join("..", "..", "..", "..", "shared", "data")
	}
	dir := filepath.Join(root, sub)
	if _, err := os.Stat(dir); err != nil {
		tb.Skipf("shared data not present at %s (set MAMORI_SHARED_DATA)", dir)
	}
	return dir
}

func FuzzDecode(f *testing.F) {
	f.Add(readTestdata(f, "SBOM_cern-lhc-vdm-editor-e564943_bom.json")[:4000])
	f.Add(readTestdata(f, "VEX_vex.json"))
	f.Add([]byte(`<?xml version="1.0"?><bom xmlns="http://cyclonedx.org/schema/bom/1.2" version="1"><components><component type="library"><name>a</name><version>1</version><purl>pkg:npm/a@1</purl></component></components></bom>`))
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":"a","components":[{"type":"library","name":"b"}]}],"dependencies":[{"ref":"a","dependsOn":["b"]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := cyclonedx.Decode(data)
		if (doc == nil) == (err == nil) {
			t.Fatalf("doc %v with err %v: exactly one must be set", doc, err)
		}
		if err != nil && mamori.ErrorCode(err) != mamori.EINVALID {
			t.Fatalf("code %s: %v", mamori.ErrorCode(err), err)
		}
	})
}
