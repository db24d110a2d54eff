package spdx_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/format/spdx"
	"github.com/mamori-dev/mamori/internal/sbom"
)

// packages is the number of SPDX packages each real document holds
// (counted with a JSON parser and grep '^PackageName:', not with this code).
var packages = map[string]int{
	"presentations_OSS-NA-2023_SPDXVersion2.3_01-MinimalSBOM.json":        1,
	"presentations_OSS-NA-2023_SPDXVersion2.3_02-SBOMwSource.json":        1,
	"presentations_OSS-NA-2023_SPDXVersion2.3_03-SBOMwDependency.json":    2,
	"presentations_OSS-NA-2023_SPDXVersion2.3_04-SBOMwSecurity.json":      2,
	"presentations_OSS-NA-2023_SPDXVersion2.3_05-SBOMwSourceLicense.json": 1,
	"presentations_SBOMS-SPDX-Now-and-Future_ACME-v2.3.spdx.json":         4,
	"software_example10_spdx2.3_hello-source.spdx.json":                   1,
	"software_example11_spdx2.3_sbom.spdx.json":                           4,
	"software_example12_spdx2.2_hello-dist.spdx.json":                     1,
	"software_example12_spdx2.2_hello-src.spdx.json":                      1,
	"software_example14_spdx2.3_examplemaven-0.0.1-enriched.spdx.json":    6,
	"software_example1_spdx2.2_example1.spdx":                             1,
	"software_example2_spdx2.2_example2-bin.spdx":                         1,
	"software_example2_spdx2.2_example2-src.spdx":                         1,
	"software_example3_spdx2.2_example3-bin.spdx":                         1,
	"software_example3_spdx2.2_example3-src.spdx":                         1,
	"software_example4_spdx2.2_example4-bin.spdx":                         3,
	"software_example4_spdx2.2_example4-src.spdx":                         1,
	"software_example5_spdx2.2_example5-bin.spdx":                         1,
	"software_example5_spdx2.2_example5-src.spdx":                         1,
	"software_example6_spdx2.2_example6-bin.spdx":                         1,
	"software_example6_spdx2.2_example6-lib.spdx":                         5,
	"software_example6_spdx2.2_example6-src.spdx":                         1,
	"software_example7_spdx2.2_example7-bin.spdx.json":                    1,
	"software_example7_spdx2.2_example7-go-module.spdx.json":              1,
	"software_example7_spdx2.2_example7-golang.spdx.json":                 2,
	"software_example7_spdx2.2_example7-third-party-modules.spdx.json":    3,
	"software_example8_spdx2.3_examplemaven-0.0.1.spdx.json":              6,
	"software_example9_spdx2.2_appbomination.spdx.json":                   7,
}

func TestDecodeReal(t *testing.T) {
	files, err := filepath.Glob("testdata/*.*")
	if err != nil {
		t.Fatal(err)
	}
	files = slices.DeleteFunc(files, func(f string) bool { return strings.HasSuffix(f, ".md") })
	if len(files) != len(packages) {
		t.Fatalf("%d files in testdata, want %d", len(files), len(packages))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !(spdx.Decoder{}).Detect(data) {
				t.Fatal("Detect = false")
			}
			doc, err := spdx.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if len(doc.Components) != packages[name] {
				t.Errorf("%d components, want %d", len(doc.Components), packages[name])
			}
			wantEnc, wantSpec := sbom.EncodingTagValue, "2.2"
			if strings.HasSuffix(name, ".json") {
				wantEnc = sbom.EncodingJSON
			}
			if strings.Contains(name, "2.3") {
				wantSpec = "2.3"
			}
			if doc.Format != sbom.FormatSPDX || doc.Encoding != wantEnc || doc.SpecVersion != wantSpec {
				t.Errorf("got %s %s %s, want SPDX %s %s", doc.Format, doc.SpecVersion, doc.Encoding, wantSpec, wantEnc)
			}
			if doc.SerialNumber == "" || doc.Created.IsZero() {
				t.Errorf("namespace %q created %v", doc.SerialNumber, doc.Created)
			}
			for _, c := range doc.Components {
				if !strings.HasPrefix(c.Ref, "SPDXRef-") {
					t.Errorf("ref %q", c.Ref)
				}
			}
		})
	}
}

func TestFields(t *testing.T) {
	data, err := os.ReadFile("testdata/software_example11_spdx2.3_sbom.spdx.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := spdx.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]sbom.Component{}
	for _, c := range doc.Components {
		byName[c.Name] = c
	}
	tokio := byName["tokio"]
	if tokio.PURL != "pkg:cargo/tokio@1.19.2" || tokio.Version != "1.19.2" || len(tokio.Hashes) != 1 || tokio.Hashes[0].Algorithm != "SHA256" {
		t.Errorf("tokio %+v", tokio)
	}
	if len(tokio.Licenses) != 1 || tokio.Licenses[0] != "MIT" {
		t.Errorf("tokio licences %v (concluded MIT, declared NOASSERTION)", tokio.Licenses)
	}
	if len(doc.Tools) != 1 || doc.Tools[0] != "sigs.k8s.io/bom/pkg/spdx" {
		t.Errorf("tools %v", doc.Tools)
	}

	// DEPENDS_ON and *_DEPENDENCY_OF both become DependsOn of the dependant.
	data, err = os.ReadFile("testdata/presentations_OSS-NA-2023_SPDXVersion2.3_03-SBOMwDependency.json")
	if err != nil {
		t.Fatal(err)
	}
	if doc, err = spdx.Decode(data); err != nil {
		t.Fatal(err)
	}
	deps := 0
	for _, c := range doc.Components {
		deps += len(c.DependsOn)
	}
	if deps == 0 {
		t.Errorf("no dependency edges in %+v", doc.Relationships)
	}
}

func TestCPEAndSupplier(t *testing.T) {
	tv := `SPDXVersion: SPDX-2.3
DataLicense: CC0-1.0
SPDXID: SPDXRef-DOCUMENT
DocumentName: t
DocumentNamespace: https://example.com/t
Creator: Tool: test
Created: 2024-01-01T00:00:00Z

PackageName: openssl
SPDXID: SPDXRef-openssl
PackageVersion: 3.0.4-r0
PackageSupplier: Organization: Alpine
PackageDownloadLocation: NOASSERTION
FilesAnalyzed: false
PackageLicenseConcluded: NOASSERTION
PackageLicenseDeclared: Apache-2.0
ExternalRef: SECURITY cpe23Type cpe:2.3:a:openssl:openssl:3.0.4:*:*:*:*:*:*:*
ExternalRef: PACKAGE-MANAGER purl pkg:apk/alpine/openssl@3.0.4-r0?distro=alpine-3.16.2
`
	doc, err := spdx.Decode([]byte(tv))
	if err != nil {
		t.Fatal(err)
	}
	c := doc.Components[0]
	if c.CPE != "cpe:2.3:a:openssl:openssl:3.0.4:*:*:*:*:*:*:*" || c.PURL != "pkg:apk/alpine/openssl@3.0.4-r0?distro=alpine-3.16.2" ||
		c.Supplier != "Alpine" || len(c.Licenses) != 1 || c.Licenses[0] != "Apache-2.0" {
		t.Errorf("%+v", c)
	}
}

func TestMalformed(t *testing.T) {
	tests := []struct{ name, data, want string }{
		{"truncated json", `{"spdxVersion":"SPDX-2.3","packages":[{"name":"a"`, "JSON"},
		{"unsupported version", `{"spdxVersion":"SPDX-9.9"}`, "not supported"},
		{"spdx 3", `{"@context":"https://spdx.org/rdf/3.0.1/spdx-context.jsonld","@graph":[]}`, "SPDX 3"},
		{"bad tag", "SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\nSPDXID: SPDXRef-DOCUMENT\nPackageName: a\nSPDXID: SPDXRef-a\nNoSuchTag: x\n", "tag-value"},
		{"missing version", "DataLicense: CC0-1.0\n", "spdxVersion"},
		{"nameless package", `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"d","documentNamespace":"https://x/y","creationInfo":{"created":"2024-01-01T00:00:00Z","creators":["Tool: x"]},"packages":[{"SPDXID":"SPDXRef-a","name":"","downloadLocation":"NONE"}]}`, "components[0]"},
		{"version only", "SPDXVersion: SPDX-2.2\n", "documentNamespace"},
		{"cut after a package name", "SPDXVersion: SPDX-2.2\nDataLicense: CC0-1.0\nSPDXID: SPDXRef-DOCUMENT\nDocumentName: d\nDocumentNamespace: https://x/y\nCreator: Tool: x\nCreated: 2024-01-01T00:00:00Z\nPackageName: a\nSPDXID: SPDXRef-a\n", "downloadLocation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := spdx.Decode([]byte(tt.data))
			if err == nil || doc != nil {
				t.Fatalf("got %v, %v; want an error and nothing", doc, err)
			}
			if mamori.ErrorCode(err) != mamori.EINVALID || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v: want EINVALID mentioning %q", err, tt.want)
			}
		})
	}
}

func TestTruncatedReal(t *testing.T) {
	data, err := os.ReadFile("testdata/software_example9_spdx2.2_appbomination.spdx.json")
	if err != nil {
		t.Fatal(err)
	}
	for cut := 1; cut < len(data)-3; cut += 61 {
		if doc, err := spdx.Decode(data[:cut]); err == nil {
			t.Errorf("cut at %d decoded %d packages, want an error", cut, len(doc.Components))
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, name := range []string{"software_example6_spdx2.2_example6-lib.spdx", "software_example11_spdx2.3_sbom.spdx.json", "presentations_OSS-NA-2023_SPDXVersion2.3_03-SBOMwDependency.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := spdx.Decode(data)
		if (doc == nil) == (err == nil) {
			t.Fatalf("doc %v with err %v: exactly one must be set", doc, err)
		}
		if err != nil && mamori.ErrorCode(err) != mamori.EINVALID {
			t.Fatalf("code %s: %v", mamori.ErrorCode(err), err)
		}
	})
}
