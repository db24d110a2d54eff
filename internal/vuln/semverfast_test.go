package vuln

import (
	"archive/zip"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/osv-scalibr/semantic"
)

var trickyVersions = []string{
	"0", "1", "1.2", "1.2.3", "v1.2.3", "1.2.3-rc.1", "1.2.3-rc.10", "1.2.3-rc.2", "1.2.3-beta", "1.2.3-beta.2",
	"1.2.3-alpha.beta", "1.2.3-alpha.1", "1.2.3-alpha", "1.2.3-0.3.7", "1.2.3-x.7.z.92", "1.2.3+build.1",
	"1.2.3-rc.1+build", "2.7.0-rc.0+incompatible", "v2.6.2+incompatible", "0.0.0-20191016112426-3962a5ea8da1",
	"0.0.0-20200226121028-0de0cce0169b", "v0.5.0-alpha.5.0.20200423152442-f4b650b51dc4", "1.21.0-0", "1.21.0-rc.2",
	"1.2.3-01", "1.2.3-rc..1", "1.2.3.4", "01.2.3", "1.2.3rc1", "V1.2.3", "1.2.3-", "1.2.3-rc.01", "10.0.0", "9.99.99",
	"1.0.0-alpha-1", "1.0.0-alpha--", "18446744073709551615.0.0", "1.2.3-9999999999999999999999",
}

// TestFastSemverAgrees checks that the fast SemVer comparison orders every
// pair exactly as osv-scalibr's semantic does, on tricky versions, on the
// event versions of the test advisories, and (when ../shared/data is
// present) on a sample of pairs from the full Go and crates.io data.
func TestFastSemverAgrees(t *testing.T) {
	versions := append([]string(nil), trickyVersions...)
	files, _ := filepath.Glob("testdata/osv/*/*.json")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		versions = append(versions, eventVersions(t, data)...)
	}
	checkPairs(t, versions, 0)

	root := os.Getenv("MAMORI_SHARED_DATA")
	if root == "" {
		root = filepath.Join("..", "..", "..", "shared", "data")
	}
	var shared []string
	for _, eco := range []string{"Go", "crates.io"} {
		zr, err := zip.OpenReader(filepath.Join(root, "osv", "osv-scalibr", eco, "all.zip"))
		if err != nil {
			t.Skipf("shared data not present (set MAMORI_SHARED_DATA): %v", err)
		}
		for _, f := range zr.File {
			r, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(r)
			r.Close()
			shared = append(shared, eventVersions(t, data)...)
		}
		zr.Close()
	}
	checkPairs(t, shared, 300000)
}

func eventVersions(t *testing.T, data []byte) []string {
	var doc struct {
		Affected []struct {
			Ranges []struct {
				Events []map[string]string
			}
			Versions []string
		}
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range doc.Affected {
		out = append(out, a.Versions...)
		for _, r := range a.Ranges {
			for _, e := range r.Events {
				for _, v := range e {
					out = append(out, v, "v"+v)
				}
			}
		}
	}
	return out
}

// checkPairs compares all pairs, or sample random pairs when sample > 0.
func checkPairs(t *testing.T, versions []string, sample int) {
	t.Helper()
	type parsed struct {
		s string
		v semantic.SemverVersion
		f fastSemver
	}
	ps := make([]parsed, len(versions))
	fast := 0
	for i, s := range versions {
		ps[i] = parsed{s, semantic.ParseSemverVersion(s), parseFastSemver(s)}
		if ps[i].f.ok {
			fast++
		}
	}
	check := func(a, b parsed) {
		if !a.f.ok || !b.f.ok {
			return
		}
		want, err := a.v.Compare(b.v)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.f.compare(b.f); got != want {
			t.Fatalf("compare(%q, %q) = %d, semantic says %d", a.s, b.s, got, want)
		}
	}
	if sample == 0 {
		for _, a := range ps {
			for _, b := range ps {
				check(a, b)
			}
		}
	} else {
		rng := rand.New(rand.NewPCG(7, 11))
		for range sample {
			check(ps[rng.IntN(len(ps))], ps[rng.IntN(len(ps))])
		}
	}
	if fast*10 < len(ps)*9 {
		t.Errorf("only %d of %d versions take the fast path", fast, len(ps))
	}
	t.Logf("%d versions, %d on the fast path", len(ps), fast)
}
