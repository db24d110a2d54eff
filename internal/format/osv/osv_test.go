package osv_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/format/osv"
	"github.com/mamori-dev/mamori/internal/vuln"
)

const advisories = "../../vuln/testdata/osv"

func TestLoadLayouts(t *testing.T) {
	tests := []struct {
		name       string
		paths      []string
		advisories int
		withdrawn  int
		problems   []string
	}{
		// osv-scanner's local database directory: <dir>/osv-scalibr/<Ecosystem>/all.zip
		// (Go: 63 advisories, 1 withdrawn, and one truncated entry;
		// crates.io: 9, 1 withdrawn).
		{"local db dir", []string{"testdata/db"}, 70, 2, []string{"all.zip:BROKEN-0001.json"}},
		{"one zip", []string{"testdata/db/osv-scalibr/crates.io/all.zip"}, 8, 1, nil},
		{"directory of files", []string{"testdata/dir"}, 2, 1, []string{"bad-event.json"}},
		{"one file", []string{"testdata/dir/GO-2020-0001.json"}, 1, 0, nil},
		{"several paths, duplicates", []string{"testdata/dir/GO-2020-0001.json", advisories + "/Go"}, 62, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := osv.Load(context.Background(), tt.paths...)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Advisories) != tt.advisories || res.Withdrawn != tt.withdrawn {
				t.Errorf("%d advisories, %d withdrawn; want %d, %d", len(res.Advisories), res.Withdrawn, tt.advisories, tt.withdrawn)
			}
			if len(res.Problems) != len(tt.problems) {
				t.Fatalf("problems %v, want %v", res.Problems, tt.problems)
			}
			for i, p := range res.Problems {
				if !strings.HasSuffix(p.File, tt.problems[i]) || mamori.ErrorCode(p.Err) != mamori.EINVALID {
					t.Errorf("problem %v, want one naming %s", p, tt.problems[i])
				}
			}
			if strings.HasPrefix(tt.name, "several") && res.Duplicates != 1 {
				t.Errorf("%d duplicates, want 1", res.Duplicates)
			}
			seen := map[string]bool{}
			for _, a := range res.Advisories {
				if a.IsWithdrawn() || seen[a.ID] {
					t.Errorf("%s withdrawn or duplicated", a.ID)
				}
				seen[a.ID] = true
			}
		})
	}
	if _, err := osv.Load(context.Background(), "testdata/no-such-dir"); mamori.ErrorCode(err) != mamori.ENOTFOUND {
		t.Errorf("missing path: %v", err)
	}
}

func TestDecodeFields(t *testing.T) {
	data, err := os.ReadFile(advisories + "/crates.io/RUSTSEC-2021-0003.json")
	if err != nil {
		t.Fatal(err)
	}
	a, err := osv.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "RUSTSEC-2021-0003" || len(a.Aliases) != 2 || a.Aliases[0] != "CVE-2021-25900" || a.Published.IsZero() || a.Modified.IsZero() {
		t.Errorf("%+v", a)
	}
	if len(a.Severity) != 1 || a.Severity[0].Type != "CVSS_V3" || !strings.HasPrefix(a.Severity[0].Score, "CVSS:3.1/") {
		t.Errorf("severity %+v", a.Severity)
	}
	af := a.Affected[0]
	if af.Ecosystem != "crates.io" || af.Name != "smallvec" || af.PURL != "pkg:cargo/smallvec" || len(af.Ranges) != 1 || len(af.Ranges[0].Events) != 4 {
		t.Errorf("affected %+v", af)
	}
	if len(a.References) != 3 || a.References[1].Type != "ADVISORY" {
		t.Errorf("references %+v", a.References)
	}
}

func TestDecodeInvalid(t *testing.T) {
	tests := []struct{ name, data, field string }{
		{"truncated", `{"id":"A","affected":[`, ""},
		{"no id", `{"modified":"2024-01-01T00:00:00Z"}`, "id"},
		{"two versions in one event", `{"id":"A","affected":[{"package":{"ecosystem":"npm","name":"x"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0","fixed":"1"}]}]}]}`, "affected[0].ranges[0].events[0]"},
		{"no introduced", `{"id":"A","affected":[{"package":{"ecosystem":"npm","name":"x"},"ranges":[{"type":"SEMVER","events":[{"fixed":"1"}]}]}]}`, "affected[0].ranges[0].events"},
		{"bad range type", `{"id":"A","affected":[{"package":{"ecosystem":"npm","name":"x"},"ranges":[{"type":"DATE","events":[{"introduced":"0"}]}]}]}`, "affected[0].ranges[0].type"},
		{"no package name", `{"id":"A","affected":[{"package":{"ecosystem":"npm"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}`, "affected[0].package.name"},
		{"bad time", `{"id":"A","modified":"yesterday"}`, "modified"},
		{"wrong type", `{"id":["A"]}`, ""},
	}
	for _, tt := range tests {
		_, err := osv.Decode([]byte(tt.data))
		if mamori.ErrorCode(err) != mamori.EINVALID {
			t.Errorf("%s: %v, want EINVALID", tt.name, err)
			continue
		}
		if tt.field != "" && mamori.ErrorFields(err)[tt.field] == "" {
			t.Errorf("%s: fields %v, want %s", tt.name, mamori.ErrorFields(err), tt.field)
		}
	}
}

// TestSchema checks the decoder's understanding against the OSV JSON
// schema: every real advisory in testdata validates, is decoded, and
// re-encoded by Encode into a document that validates again and decodes
// to the same advisory; and documents the schema rejects for a rule
// matching relies on are rejected by Decode too.
func TestSchema(t *testing.T) {
	c := jsonschema.NewCompiler()
	schemaDoc, err := jsonschema.UnmarshalJSON(mustOpen(t, "testdata/osv-schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("osv-schema.json", schemaDoc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("osv-schema.json")
	if err != nil {
		t.Fatal(err)
	}
	validate := func(data []byte) error {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			return err
		}
		return schema.Validate(v)
	}
	files, _ := filepath.Glob(advisories + "/*/*.json")
	if len(files) < 70 {
		t.Fatalf("%d files", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate(data); err != nil {
			t.Errorf("%s does not validate: %v", f, err)
			continue
		}
		a, err := osv.Decode(data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		out, err := osv.Encode(&a)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate(out); err != nil {
			t.Errorf("%s: re-encoded document does not validate: %v\n%s", f, err, out)
		}
		b, err := osv.Decode(out)
		if err != nil {
			t.Fatalf("%s: re-decode: %v", f, err)
		}
		again, err := osv.Encode(&b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, again) || a.ID != b.ID || !reflect.DeepEqual(a.Affected[0].Ranges, b.Affected[0].Ranges) {
			t.Errorf("%s: the round trip changed the advisory", f)
		}
	}
	for _, bad := range []string{
		`{"id":"GO-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Go","name":"x"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0","fixed":"1"}]}]}]}`,
		`{"id":"GO-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Go","name":"x"},"ranges":[{"type":"SEMVER","events":[{"fixed":"1"}]}]}]}`,
		`{"id":"GO-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Go","name":"x"},"ranges":[{"type":"DATE","events":[{"introduced":"0"}]}]}]}`,
		`{"modified":"2024-01-01T00:00:00Z"}`,
	} {
		if validate([]byte(bad)) == nil {
			t.Errorf("the schema accepts %s", bad)
		}
		if _, err := osv.Decode([]byte(bad)); err == nil {
			t.Errorf("Decode accepts what the schema rejects: %s", bad)
		}
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestSharedData loads the full Go and crates.io data when present.
func TestSharedData(t *testing.T) {
	root := os.Getenv("MAMORI_SHARED_DATA")
	if root == "" {
		root = filepath.Join("..", "..", "..", "..", "shared", "data")
	}
	dir := filepath.Join(root, "osv")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared data not present at %s (set MAMORI_SHARED_DATA)", dir)
	}
	res, err := osv.Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	// 4,291 Go + 1,206 crates.io documents, 30 of them withdrawn.
	if res.Documents != 5497 || res.Withdrawn != 30 || len(res.Advisories) != 5467 || len(res.Problems) != 0 {
		t.Errorf("documents %d, withdrawn %d, advisories %d, problems %v", res.Documents, res.Withdrawn, len(res.Advisories), res.Problems)
	}
}

func FuzzDecode(f *testing.F) {
	for _, name := range []string{"crates.io/RUSTSEC-2021-0003.json", "Go/GO-2020-0001.json", "synthetic/x_MAMORI-2026-0002.json"} {
		data, err := os.ReadFile(filepath.Join(advisories, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`[{"id":"A"},{"id":"B","withdrawn":"2024-01-01T00:00:00Z"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		advs, err := osv.DecodeMany(data)
		if err != nil {
			if mamori.ErrorCode(err) != mamori.EINVALID {
				t.Fatalf("code %s: %v", mamori.ErrorCode(err), err)
			}
			return
		}
		// Whatever decodes must index and match without panicking.
		ix := vuln.NewIndex(advs)
		for _, a := range advs {
			for _, af := range a.Affected {
				ix.Match(vuln.Package{Ecosystem: af.Ecosystem, Name: af.Name, Version: "1.0.0"})
				for _, v := range af.Versions {
					ix.Match(vuln.Package{Ecosystem: af.Ecosystem, Name: af.Name, Version: v})
				}
			}
		}
	})
}

// BenchmarkLoad loads the full Go and crates.io data (5,497 documents in
// two zips), when ../shared/data is present.
func BenchmarkLoad(b *testing.B) {
	root := os.Getenv("MAMORI_SHARED_DATA")
	if root == "" {
		root = filepath.Join("..", "..", "..", "..", "shared", "data")
	}
	dir := filepath.Join(root, "osv")
	if _, err := os.Stat(dir); err != nil {
		b.Skipf("shared data not present at %s (set MAMORI_SHARED_DATA)", dir)
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := osv.Load(context.Background(), dir)
		if err != nil || len(res.Advisories) != 5467 {
			b.Fatal(err)
		}
	}
}

func TestLoadCached(t *testing.T) {
	cache := t.TempDir()
	first, hit, err := osv.LoadCached(context.Background(), cache, "testdata/db")
	if err != nil || hit {
		t.Fatalf("first load: hit %v, %v", hit, err)
	}
	second, hit, err := osv.LoadCached(context.Background(), cache, "testdata/db")
	if err != nil || !hit {
		t.Fatalf("second load: hit %v, %v", hit, err)
	}
	if len(second.Advisories) != len(first.Advisories) || len(second.Problems) != 1 || second.Withdrawn != first.Withdrawn ||
		second.Problems[0].Error() != first.Problems[0].Error() {
		t.Errorf("cached result differs: %d/%d advisories, problems %v vs %v", len(second.Advisories), len(first.Advisories), second.Problems, first.Problems)
	}
	for i := range first.Advisories {
		// Compared as OSV JSON: gob does not keep empty-but-not-nil slices.
		a, _ := osv.Encode(&first.Advisories[i])
		b, _ := osv.Encode(&second.Advisories[i])
		if !bytes.Equal(a, b) || first.Advisories[i].Source != second.Advisories[i].Source {
			t.Fatalf("advisory %s changed in the cache", first.Advisories[i].ID)
		}
	}
	// A damaged snapshot is ignored and rewritten.
	files, _ := filepath.Glob(filepath.Join(cache, "osv-*.gob"))
	if len(files) != 1 {
		t.Fatalf("%d snapshots", len(files))
	}
	if err := os.WriteFile(files[0], []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if res, hit, err := osv.LoadCached(context.Background(), cache, "testdata/db"); err != nil || hit || len(res.Advisories) != len(first.Advisories) {
		t.Errorf("damaged cache: hit %v, err %v", hit, err)
	}
}

// BenchmarkLoadCached reads the same data from a warm snapshot.
func BenchmarkLoadCached(b *testing.B) {
	root := os.Getenv("MAMORI_SHARED_DATA")
	if root == "" {
		root = filepath.Join("..", "..", "..", "..", "shared", "data")
	}
	dir := filepath.Join(root, "osv")
	if _, err := os.Stat(dir); err != nil {
		b.Skipf("shared data not present at %s (set MAMORI_SHARED_DATA)", dir)
	}
	cache := b.TempDir()
	if _, _, err := osv.LoadCached(context.Background(), cache, dir); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		res, hit, err := osv.LoadCached(context.Background(), cache, dir)
		if err != nil || !hit || len(res.Advisories) != 5467 {
			b.Fatal(err, hit)
		}
	}
}
