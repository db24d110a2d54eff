package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCatalogCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	r := runCLI(t, nil, "", args...)
	return r.stdout, r.stderr, r.code
}

// The done-criterion of issue 5: the JSON export of fsa-csgl is the whole
// tree of the 2025-07-04 edition with 176 items (126 basic, 50 desirable),
// each with Japanese and English text.
func TestCatalogExportFSAJSON(t *testing.T) {
	out, stderr, code := runCatalogCLI(t, "catalog", "export", "fsa-csgl", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	type node struct {
		ID       string            `json:"id"`
		Kind     string            `json:"kind"`
		Tier     string            `json:"tier"`
		Title    map[string]string `json:"title"`
		Text     map[string]string `json:"text"`
		Children []node            `json:"children"`
	}
	var doc struct {
		Edition struct{ Date string } `json:"edition"`
		Summary struct {
			Items  int            `json:"items"`
			ByTier map[string]int `json:"by_tier"`
		} `json:"summary"`
		Nodes []node `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	tiers := map[string]int{}
	items := 0
	var walk func([]node)
	walk = func(ns []node) {
		for _, n := range ns {
			if n.Kind == "item" {
				items++
				tiers[n.Tier]++
				if n.Text["ja"] == "" || n.Text["en"] == "" || n.Title["ja"] == "" || n.Title["en"] == "" {
					t.Errorf("%s lacks ja or en text", n.ID)
				}
			}
			walk(n.Children)
		}
	}
	walk(doc.Nodes)
	if doc.Edition.Date != "2025-07-04" || items != 176 || tiers["basic"] != 126 || tiers["desirable"] != 50 {
		t.Errorf("edition %s, %d items %v; want 2025-07-04, 176 = 126 + 50", doc.Edition.Date, items, tiers)
	}
	if doc.Summary.Items != 176 || doc.Summary.ByTier["basic"] != 126 {
		t.Errorf("summary = %+v", doc.Summary)
	}
}

func TestCatalogCommands(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	oscalFile := filepath.Join(dir, "fsa.oscal.json")
	anssi := "../format/cisoassistant/testdata/anssi-guide-hygiene.yaml"
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string // substring
		stderr string // substring
	}{
		{"list", []string{"catalog", "list"}, 0, "fsa-csgl             2025-07-04  176    126    50", ""},
		{"list en json", []string{"catalog", "list", "--json", "--lang", "en"}, 0, `"id": "fsa-2022-advisory"`, ""},
		{"help", []string{"catalog"}, 2, "Subcommands:", ""},
		{"unknown sub", []string{"catalog", "frob"}, 2, "", "unknown subcommand"},
		{"show", []string{"catalog", "show", "fsa-2022-advisory", "--lang", "en"}, 0, "1-a Stronger authentication", ""},
		{"unknown catalog", []string{"catalog", "export", "nist"}, 1, "", `There is no catalog "nist"`},
		{"bad format", []string{"catalog", "export", "fsa-csgl", "--format", "pdf"}, 2, "", "--format must be json, oscal or xlsx"},
		{"export xlsx", []string{"catalog", "export", "fsa-2022-advisory", "--format", "xlsx", "--out", filepath.Join(dir, "adv.xlsx")}, 0, "", ""},
		{"export oscal to file", []string{"catalog", "export", "fsa-csgl", "--format", "oscal", "--lang", "en", "--out", oscalFile}, 0, "", ""},
		{"import own oscal", []string{"catalog", "import", oscalFile, "--dry-run"}, 0, "176 items: 126 basic, 50 desirable", ""},
		{"import a shipped key", []string{"catalog", "import", oscalFile, "--data-dir", data}, 1, "", "already exists"},
		{"import stores", []string{"catalog", "import", anssi, "--tiers", "S=basic,R=desirable", "--id", "anssi-hygiene", "--data-dir", data}, 0, "Stored in the database", ""},
		{"import twice", []string{"catalog", "import", anssi, "--tiers", "S=basic,R=desirable", "--id", "anssi-hygiene", "--data-dir", data}, 1, "", "already exists"},
		{"list with the database", []string{"catalog", "list", "--data-dir", data}, 0, "anssi-hygiene", ""},
		{"show imported", []string{"catalog", "show", "anssi-hygiene", "--lang", "en", "--data-dir", data}, 0, "anssi-hygiene@", ""},
		{"dry run sees the database", []string{"catalog", "import", anssi, "--dry-run", "--id", "anssi-hygiene", "--data-dir", data}, 0, "already exists", ""},
		{"list without a database creates none", []string{"catalog", "list", "--data-dir", filepath.Join(dir, "none")}, 0, "fsa-csgl", ""},
		{"import missing file", []string{"catalog", "import", filepath.Join(dir, "nope.json"), "--dry-run"}, 2, "", "Cannot open"},
		{"import NIST", []string{"catalog", "import", "../format/oscal/testdata/NIST_SP-800-53_rev5_MODERATE-baseline-resolved-profile_catalog.json", "--dry-run", "--id", "nist-800-53-moderate"}, 0, "nist-800-53-moderate@2024-02-13", ""},
		{"import CISO with tiers", []string{"catalog", "import", "../format/cisoassistant/testdata/anssi-guide-hygiene.yaml", "--dry-run", "--tiers", "S=basic,R=desirable"}, 0, "61 items: 39 basic, 22 desirable", ""},
		{"bad tiers", []string{"catalog", "import", oscalFile, "--dry-run", "--tiers", "S=high"}, 2, "", "tiers"},
		{"due", []string{"catalog", "due", "fsa-csgl", "--start", "2025-04-01", "--today", "2025-09-15"}, 0, "2025-09-30  due-soon  P6M    FSA-CSGL-2.1.1-Dd", ""},
		{"due bad start", []string{"catalog", "due", "fsa-csgl", "--start", "April"}, 2, "", "--start must be a date"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runCatalogCLI(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			if !strings.Contains(out, tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, out)
			}
			if !strings.Contains(errOut, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, errOut)
			}
		})
	}
	if fi, err := os.Stat(oscalFile); err != nil || fi.Size() < 100000 {
		t.Errorf("OSCAL export file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "none")); err == nil {
		t.Error("reading catalogs created a data directory")
	}
	// A malformed import names the place.
	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(bad, []byte("{\n  \"schema\": \"mamori.catalog/v1\",\n  \"framework\": [\n"), 0o644)
	_, errOut, code := runCatalogCLI(t, "catalog", "import", bad, "--dry-run")
	if code != 2 || !strings.Contains(errOut, "line 3") && !strings.Contains(errOut, "ends too early") {
		t.Errorf("exit %d: %s", code, errOut)
	}
}
