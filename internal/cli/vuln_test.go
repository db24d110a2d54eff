package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/mamori-dev/mamori/internal/vuln"
)

const (
	testAdvisories = "../vuln/testdata/osv"
	testSBOM       = "../vuln/testdata/sbom/proton-bridge-v1.8.0.cdx.json"
)

func runVulnCLI(args ...string) (code int, stdout, stderr string) {
	if len(args) > 1 && args[0] == "vuln" && args[1] == "match" {
		args = append(args, "--no-cache")
	}
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, environFn: func() []string { return nil }})
	return code, out.String(), errb.String()
}

func TestVulnMatchExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"findings", []string{"vuln", "match", "--sbom", testSBOM, "--advisories", testAdvisories, "--format", "json"}, 1, "58 of 58 findings"},
		{"below fail-on", []string{"vuln", "match", "--sbom", testSBOM, "--advisories", testAdvisories, "--format", "json", "--fail-on", "critical"}, 0, ""},
		{"nothing found", []string{"vuln", "match", "--sbom", "../format/cyclonedx/testdata/VEX_vex.json", "--advisories", testAdvisories}, 0, ""},
		{"missing sbom flag", []string{"vuln", "match", "--advisories", testAdvisories}, 2, "--sbom and --advisories"},
		{"bad format", []string{"vuln", "match", "--sbom", testSBOM, "--advisories", testAdvisories, "--format", "xml"}, 2, "--format"},
		{"bad level", []string{"vuln", "match", "--sbom", testSBOM, "--advisories", testAdvisories, "--fail-on", "severe"}, 2, "--fail-on"},
		{"unreadable sbom", []string{"vuln", "match", "--sbom", "no-such.json", "--advisories", testAdvisories}, 2, "no-such.json"},
		{"not an sbom", []string{"vuln", "match", "--sbom", "../vuln/testdata/osv/Go/GO-2020-0001.json", "--advisories", testAdvisories}, 2, "not a CycloneDX"},
		{"truncated sbom", []string{"vuln", "match", "--sbom", "testdata/truncated.cdx.json", "--advisories", testAdvisories}, 2, "truncated"},
		{"missing advisories", []string{"vuln", "match", "--sbom", testSBOM, "--advisories", "no-such-dir"}, 2, "no-such-dir"},
		{"unknown subcommand", []string{"vuln", "scan"}, 2, "unknown subcommand"},
	}
	data, err := os.ReadFile(testSBOM)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("testdata/truncated.cdx.json", data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove("testdata/truncated.cdx.json") })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runVulnCLI(tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.err) {
				t.Errorf("exit %d, stderr %q; want %d mentioning %q", code, stderr, tt.code, tt.err)
			}
		})
	}
}

func TestVulnMatchJSON(t *testing.T) {
	args := []string{"vuln", "match", "--sbom", testSBOM, "--sbom", "../vuln/testdata/sbom/software_example11_spdx2.3_sbom.spdx.json", "--advisories", testAdvisories, "--format", "json"}
	_, out1, _ := runVulnCLI(args...)
	_, out2, _ := runVulnCLI(args...)
	if out1 != out2 {
		t.Fatal("output is not deterministic")
	}
	var doc struct {
		Findings []map[string]any `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out1), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Findings) != 58+7 {
		t.Fatalf("%d findings", len(doc.Findings))
	}
	for _, k := range []string{"ecosystem", "package", "version", "purl", "id", "aliases", "severity", "fixed"} {
		if _, ok := doc.Findings[0][k]; !ok {
			t.Errorf("key %q missing: %v", k, doc.Findings[0])
		}
	}
	first, last := doc.Findings[0], doc.Findings[len(doc.Findings)-1]
	if first["id"] != "GO-2020-0017" || first["package"] != "github.com/dgrijalva/jwt-go" || last["ecosystem"] != "crates.io" {
		t.Errorf("order: first %v, last %v", first, last)
	}
	// A RustSec finding with a CVSS vector carries its score
	// (CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:L/A:N is 5.3); Go's carry none.
	for _, f := range doc.Findings {
		if f["id"] == "RUSTSEC-2021-0078" && (f["severity"] != "MEDIUM" || f["score"] != 5.3) {
			t.Errorf("severity of %v", f)
		}
		if f["ecosystem"] == "Go" && (f["severity"] != "UNKNOWN" || f["score"] != nil) {
			t.Errorf("severity of %v", f)
		}
	}
}

func TestVulnMatchTable(t *testing.T) {
	_, out, _ := runVulnCLI("vuln", "match", "--sbom", testSBOM, "--advisories", testAdvisories)
	if !strings.HasPrefix(out, "SEVERITY") || !strings.Contains(out, "GO-2022-0588") || !strings.Contains(out, "58 findings in 14 package versions") {
		t.Errorf("table:\n%s", out)
	}
}

func TestVulnMatchSARIF(t *testing.T) {
	code, out, stderr := runVulnCLI("vuln", "match", "--sbom", testSBOM, "--sbom", "../vuln/testdata/sbom/software_example11_spdx2.3_sbom.spdx.json", "--advisories", testAdvisories, "--format", "sarif")
	if code != 1 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	c := jsonschema.NewCompiler()
	f, err := os.Open("testdata/sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sch, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("sarif.json", sch); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("sarif.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Fatalf("not valid SARIF 2.1.0: %v", err)
	}
	var log struct {
		Version string
		Runs    []struct {
			Tool struct {
				Driver struct{ Rules []struct{ ID string } }
			}
			Results []struct {
				RuleID    string
				RuleIndex int
				Level     string
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	if log.Version != "2.1.0" || len(run.Results) != 65 {
		t.Fatalf("version %s, %d results", log.Version, len(run.Results))
	}
	for _, r := range run.Results {
		if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result %s points at rule %d", r.RuleID, r.RuleIndex)
		}
	}
}

// TestVulnMatchCache checks that a second run reads the snapshot and gives
// the same output, and that a changed advisory file invalidates it.
func TestVulnMatchCache(t *testing.T) {
	dir := t.TempDir()
	adv := filepath.Join(dir, "advisories")
	if err := os.CopyFS(adv, os.DirFS(testAdvisories)); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(dir, "cache")
	args := []string{"vuln", "match", "--sbom", testSBOM, "--advisories", adv, "--format", "json", "--cache-dir", cache}
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, environFn: func() []string { return nil }}
	if code := run(context.Background(), args, e); code != 1 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	first := out.String()
	snaps, _ := filepath.Glob(filepath.Join(cache, "osv-*.gob"))
	if len(snaps) != 1 {
		t.Fatalf("%d snapshots", len(snaps))
	}
	out.Reset()
	run(context.Background(), args, e)
	if out.String() != first {
		t.Error("cached run differs")
	}
	// Withdraw one matching advisory: the snapshot must not be reused.
	f := filepath.Join(adv, "Go", "GO-2020-0017.json")
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte(`"modified"`), []byte(`"withdrawn": "2026-01-01T00:00:00Z", "modified"`), 1)
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	run(context.Background(), args, e)
	if strings.Contains(out.String(), "GO-2020-0017") || !strings.Contains(first, "GO-2020-0017") {
		t.Error("a changed advisory file did not invalidate the cache")
	}
}

func TestWriteJSONEscaping(t *testing.T) {
	f := vuln.Finding{SBOM: `dir\"quoted" <b>&.json`, Ecosystem: "npm", Package: "@scope/名前\u2028x", Version: "1.0.0\t",
		PURL: "pkg:npm/x@1", AdvisoryID: "GHSA-1", Aliases: []string{"CVE-1"}, Fixed: nil,
		Severity: vuln.Severity{Level: vuln.LevelHigh, Score: 7.5, Vector: "CVSS:3.1/AV:N"}}
	var buf bytes.Buffer
	if err := writeFindingsJSON(&buf, []vuln.Finding{f, f}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Findings []struct {
			SBOM, Ecosystem, Package, Version, PURL, ID, Severity string
			Aliases, Fixed                                        []string
			Score                                                 float64
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	g := doc.Findings[1]
	if len(doc.Findings) != 2 || g.SBOM != f.SBOM || g.Package != f.Package || g.Version != f.Version || g.Score != 7.5 ||
		g.Severity != "HIGH" || g.Fixed == nil || len(g.Fixed) != 0 || g.Aliases[0] != "CVE-1" {
		t.Errorf("%+v\n%s", g, buf.String())
	}
}
