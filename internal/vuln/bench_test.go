package vuln_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mamori-dev/mamori/internal/format/osv"
	"github.com/mamori-dev/mamori/internal/vuln"
)

// sharedAdvisories loads the full Go and crates.io OSV data, or skips.
func sharedAdvisories(b *testing.B) []vuln.Advisory {
	b.Helper()
	res, err := osv.Load(context.Background(), sharedData(b, "osv"))
	if err != nil {
		b.Fatal(err)
	}
	return res.Advisories
}

// portfolio makes n packages from the advisories' own range events (each
// introduced and fixed version, as gensbom does), so most of them match:
// the worst case for matching.
func portfolio(advs []vuln.Advisory, n int) []vuln.Package {
	var all []vuln.Package
	seen := map[string]bool{}
	for _, a := range advs {
		for _, af := range a.Affected {
			for _, r := range af.Ranges {
				for _, e := range r.Events {
					for _, v := range []string{e.Introduced, e.Fixed} {
						if v == "" || v == "0" || seen[af.Name+"@"+v] {
							continue
						}
						seen[af.Name+"@"+v] = true
						p := vuln.Package{Ecosystem: af.Ecosystem, Name: af.Name, Version: v}
						if af.Ecosystem == "Go" && af.Name != "stdlib" && af.Name != "toolchain" {
							p.Version = "v" + v
						}
						p.PURL = fmt.Sprintf("pkg:%s/%s@%s", strings.ToLower(af.Ecosystem), af.Name, p.Version)
						all = append(all, p)
					}
				}
			}
		}
	}
	slices.SortFunc(all, func(a, b vuln.Package) int { return strings.Compare(a.PURL, b.PURL) })
	out := make([]vuln.Package, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, all[i*len(all)/n])
	}
	return out
}

func BenchmarkNewIndex(b *testing.B) {
	advs := sharedAdvisories(b)
	b.ReportAllocs()
	for b.Loop() {
		if vuln.NewIndex(advs).Len() != len(advs) {
			b.Fatal("lost advisories")
		}
	}
}

// BenchmarkFindingsFor12k matches a 12,000-package SBOM against the full
// data (loading excluded: see BenchmarkLoad in internal/format/osv).
func BenchmarkFindingsFor12k(b *testing.B) {
	advs := sharedAdvisories(b)
	ix := vuln.NewIndex(advs)
	pkgs := portfolio(advs, 12000)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		fs, _ := vuln.FindingsFor(ix, "bench", pkgs)
		n = len(fs)
	}
	b.ReportMetric(float64(n), "findings")
}

// BenchmarkIncremental measures re-matching a portfolio of 10 SBOMs of
// 1,200 packages each when one SBOM changes (10% of its packages move to
// other versions) and when one advisory changes.
func BenchmarkIncremental(b *testing.B) {
	advs := sharedAdvisories(b)
	pkgs := portfolio(advs, 12000)
	setup := func() *vuln.Matcher {
		m := vuln.NewMatcher(vuln.NewIndex(advs))
		for i := range 10 {
			m.SetPackages(fmt.Sprintf("sbom-%d", i), pkgs[i*1200:(i+1)*1200])
		}
		return m
	}
	b.Run("full portfolio", func(b *testing.B) {
		for b.Loop() {
			setup()
		}
	})
	b.Run("one SBOM changed", func(b *testing.B) {
		m := setup()
		changed := slices.Clone(pkgs[:1200])
		for i := 0; i < len(changed); i += 10 {
			changed[i] = pkgs[(i+6000)%len(pkgs)]
		}
		versions := [][]vuln.Package{pkgs[:1200], changed}
		i := 0
		for b.Loop() {
			i++
			m.SetPackages("sbom-0", versions[i%2])
		}
	})
	b.Run("one advisory changed", func(b *testing.B) {
		m := setup()
		// GO-2022-0588 (bluemonday): an advisory with a package in the
		// portfolio; alternate its fixed version.
		var a vuln.Advisory
		for _, x := range advs {
			if x.ID == "GO-2022-0588" {
				a = x
			}
		}
		if a.ID == "" {
			b.Skip("GO-2022-0588 not in the data")
		}
		other := a
		other.Affected = slices.Clone(a.Affected)
		other.Affected[0].Ranges = []vuln.Range{{Type: vuln.RangeSemver, Events: []vuln.Event{{Introduced: "0"}, {Fixed: "1.0.5"}}}}
		versions := []vuln.Advisory{a, other}
		i := 0
		for b.Loop() {
			i++
			m.PutAdvisories(versions[i%2])
		}
	})
}
