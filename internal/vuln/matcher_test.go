package vuln_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/mamori-dev/mamori/internal/format/osv"
	"github.com/mamori-dev/mamori/internal/sbom"
	"github.com/mamori-dev/mamori/internal/vuln"
)

// keys identifies findings for comparison, with the details that Updated
// must carry.
func keys(fs []vuln.Finding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s|%s|%s|%s|%s|%v|%s", f.SBOM, f.Ecosystem, f.Package, f.Version, f.AdvisoryID, f.Fixed, f.Severity.Level))
	}
	slices.Sort(out)
	return out
}

// TestMatcherIncremental applies random SBOM and advisory changes to a
// Matcher and checks after each step that (1) its findings equal a full
// re-match from scratch and (2) the reported Changes turn the previous
// findings into the new ones.
func TestMatcherIncremental(t *testing.T) {
	res, err := osv.Load(context.Background(), "testdata/osv")
	if err != nil {
		t.Fatal(err)
	}
	base := map[string]vuln.Advisory{}
	for _, a := range res.Advisories {
		base[a.ID] = a
	}
	data, err := readFile("testdata/sbom/proton-bridge-v1.8.0.cdx.json")
	if err != nil {
		t.Fatal(err)
	}
	orig, err := decoders.Decode("pb", data)
	if err != nil {
		t.Fatal(err)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	current := map[string]vuln.Advisory{}
	ids := make([]string, 0, len(base))
	for id, a := range base {
		ids = append(ids, id)
		if rng.IntN(3) > 0 {
			current[id] = a
		}
	}
	slices.Sort(ids)
	initial := make([]vuln.Advisory, 0, len(current))
	for _, id := range ids {
		if a, ok := current[id]; ok {
			initial = append(initial, a)
		}
	}
	m := vuln.NewMatcher(vuln.NewIndex(initial))
	docs := map[string]*sbom.Document{}
	var prev []string

	for step := range 60 {
		var ch vuln.Changes
		var what string
		switch op := rng.IntN(6); op {
		case 0, 1: // a new version of an SBOM: some components bumped or dropped
			name := []string{"a", "b", "c"}[rng.IntN(3)]
			doc := mutate(orig, rng)
			docs[name] = doc
			ch, _ = m.SetSBOM(name, doc)
			what = "SetSBOM " + name
		case 2: // an advisory added or changed: its first fix moved
			id := ids[rng.IntN(len(ids))]
			a := change(base[id], rng)
			current[id] = a
			ch = m.PutAdvisories(a)
			what = "PutAdvisories " + id
		case 3: // an advisory withdrawn
			id := ids[rng.IntN(len(ids))]
			a := base[id]
			a.Withdrawn = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			delete(current, id)
			ch = m.PutAdvisories(a)
			what = "withdraw " + id
		case 4:
			id := ids[rng.IntN(len(ids))]
			delete(current, id)
			ch = m.RemoveAdvisories(id)
			what = "RemoveAdvisories " + id
		case 5:
			name := []string{"a", "b", "c"}[rng.IntN(3)]
			delete(docs, name)
			ch = m.RemoveSBOM(name)
			what = "RemoveSBOM " + name
		}

		// (1) same as matching everything again.
		var advs []vuln.Advisory
		for _, id := range ids {
			if a, ok := current[id]; ok {
				advs = append(advs, a)
			}
		}
		fresh := vuln.NewIndex(advs)
		var want []vuln.Finding
		for name, doc := range docs {
			pkgs, _ := vuln.Packages(doc)
			fs, _ := vuln.FindingsFor(fresh, name, pkgs)
			want = append(want, fs...)
		}
		got := keys(m.AllFindings())
		if !slices.Equal(got, keys(want)) {
			t.Fatalf("step %d (%s): %d findings, a full re-match gives %d", step, what, len(got), len(want))
		}

		// (2) the changes explain the difference.
		applied := map[string]bool{}
		for _, k := range prev {
			applied[k] = true
		}
		id := func(k string) string { // key without details
			for i, n := len(k)-1, 0; i >= 0; i-- {
				if k[i] == '|' {
					if n++; n == 2 {
						return k[:i]
					}
				}
			}
			return k
		}
		for _, k := range keys(ch.Removed) {
			if !applied[k] {
				t.Fatalf("step %d (%s): removed %s was not there", step, what, k)
			}
			delete(applied, k)
		}
		for _, k := range keys(ch.Updated) {
			for old := range applied {
				if id(old) == id(k) {
					delete(applied, old)
				}
			}
			applied[k] = true
		}
		for _, k := range keys(ch.Added) {
			applied[k] = true
		}
		var after []string
		for k := range applied {
			after = append(after, k)
		}
		slices.Sort(after)
		if !slices.Equal(after, got) {
			t.Fatalf("step %d (%s): changes (+%d -%d ~%d) do not explain the new findings", step, what, len(ch.Added), len(ch.Removed), len(ch.Updated))
		}
		prev = got
	}
}

// mutate returns a copy of doc with some components removed and some
// versions moved to another version seen in the same document.
func mutate(doc *sbom.Document, rng *rand.Rand) *sbom.Document {
	out := *doc
	out.Components = nil
	for _, c := range doc.Components {
		switch rng.IntN(10) {
		case 0:
			continue
		case 1:
			c.Version = "v0.0.1"
			c.PURL = c.PURL[:len(c.PURL)-len(c.PURL[indexAt(c.PURL):])] + "@v0.0.1"
		}
		out.Components = append(out.Components, c)
	}
	return &out
}

func indexAt(purl string) int {
	for i := len(purl) - 1; i >= 0; i-- {
		if purl[i] == '@' {
			return i
		}
	}
	return len(purl)
}

// change returns a copy of a with its first fixed version replaced by an
// earlier or later one, or a dropped range.
func change(a vuln.Advisory, rng *rand.Rand) vuln.Advisory {
	out := a
	out.Affected = slices.Clone(a.Affected)
	for i := range out.Affected {
		af := &out.Affected[i]
		af.Ranges = slices.Clone(af.Ranges)
		for j := range af.Ranges {
			r := &af.Ranges[j]
			r.Events = slices.Clone(r.Events)
			for k := range r.Events {
				if r.Events[k].Fixed != "" {
					r.Events[k].Fixed = []string{"0.0.1", "99.0.0", "1.0.0"}[rng.IntN(3)]
					return out
				}
			}
		}
	}
	return out
}
