package vuln_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mamori-dev/mamori/internal/format/cyclonedx"
	"github.com/mamori-dev/mamori/internal/format/osv"
	"github.com/mamori-dev/mamori/internal/format/spdx"
	"github.com/mamori-dev/mamori/internal/sbom"
	"github.com/mamori-dev/mamori/internal/vuln"
)

var decoders = sbom.Decoders{cyclonedx.Decoder{}, spdx.Decoder{}}

func loadIndex(t testing.TB, paths ...string) *vuln.Index {
	t.Helper()
	res, err := osv.Load(context.Background(), paths...)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) > 0 {
		t.Fatalf("problems: %v", res.Problems)
	}
	return vuln.NewIndex(res.Advisories)
}

func match(t testing.TB, ix *vuln.Index, sbomPath string) []vuln.Finding {
	t.Helper()
	data, err := os.ReadFile(sbomPath)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := decoders.Decode(sbomPath, data)
	if err != nil {
		t.Fatal(err)
	}
	pkgs, _ := vuln.Packages(doc)
	fs, errs := vuln.FindingsFor(ix, sbomPath, pkgs)
	if len(errs) > 0 {
		t.Fatalf("version errors: %v", errs)
	}
	return fs
}

func readSet(t testing.TB, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

// TestSameAsOSVScanner pins the sets osv-scanner v2.5.0 reported offline on
// the real SBOMs (recorded in testdata/expected): mamori must report the
// same (package, version, advisory) set.
func TestSameAsOSVScanner(t *testing.T) {
	ix := loadIndex(t, "testdata/osv")
	for _, tt := range []struct{ sbom, expected string }{
		{"testdata/sbom/proton-bridge-v1.8.0.cdx.json", "testdata/expected/proton-bridge-v1.8.0.osv-scanner.txt"},
		{"testdata/sbom/software_example11_spdx2.3_sbom.spdx.json", "testdata/expected/spdx-example11.osv-scanner.txt"},
	} {
		got := findingSet(match(t, ix, tt.sbom))
		want := readSet(t, tt.expected)
		if !slices.Equal(got, want) {
			t.Errorf("%s:\n got %d %v\nwant %d %v", tt.sbom, len(got), got, len(want), want)
		}
	}
}

// TestDifferences pins each case where mamori and osv-scanner disagree;
// docs/vulnerability-matching.md explains the rule that decides each.
func TestDifferences(t *testing.T) {
	ix := loadIndex(t, "testdata/osv")
	for _, name := range []string{"go-stdlib", "names"} {
		got := findingSet(match(t, ix, filepath.Join("testdata/sbom", name+".cdx.json")))
		want := readSet(t, filepath.Join("testdata/expected", name+".mamori.txt"))
		if !slices.Equal(got, want) {
			t.Errorf("%s:\n got %v\nwant %v", name, got, want)
		}
		osvScanner := readSet(t, filepath.Join("testdata/expected", name+".osv-scanner.txt"))
		if slices.Equal(osvScanner, want) {
			t.Errorf("%s: no difference left to explain", name)
		}
	}
	// The cases, one by one.
	got := findingSet(match(t, ix, "testdata/sbom/go-stdlib.cdx.json"))
	for _, c := range []struct {
		line string
		want bool
	}{
		{"stdlib 1.21.0 GO-2023-2044", true},  // introduced 1.21.0-0: go1.21.0 is inside
		{"stdlib 1.21.0 GO-2021-0142", false}, // fixed in 1.13.15 / 1.14.7
		{"stdlib 1.26.7 GO-2021-0142", false},
		{"toolchain 1.25.0 GO-2026-4338", true}, // introduced 1.25.0
	} {
		if slices.Contains(got, c.line) != c.want {
			t.Errorf("%q reported = %v, want %v", c.line, !c.want, c.want)
		}
	}
}

// TestSharedDataPortfolio runs the whole Go and crates.io data against
// every real SBOM when ../shared/data is present.
func TestSharedDataPortfolio(t *testing.T) {
	dir := sharedData(t, "osv")
	ix := loadIndex(t, dir)
	if ix.Len() < 5000 {
		t.Fatalf("only %d advisories", ix.Len())
	}
	got := findingSet(match(t, ix, filepath.Join(filepath.Dir(dir), "sbom", "cyclonedx", "proton-bridge-v1.8.0.cdx.json")))
	want := readSet(t, "testdata/expected/proton-bridge-v1.8.0.osv-scanner.txt")
	if !slices.Equal(got, want) {
		t.Errorf("proton-bridge with the full data: got %d, want %d", len(got), len(want))
	}
}
