package vuln

import (
	"cmp"
	"runtime"
	"slices"
	"sync"

	"github.com/mamori-dev/mamori/internal/sbom"
)

// Finding is one advisory affecting one package version in one SBOM.
type Finding struct {
	SBOM string // the caller's key of the SBOM (a file name, a stored document ID)
	// ComponentRefs are the refs of the SBOM's components with this
	// package version (several when a tree holds it more than once).
	ComponentRefs []string
	Ecosystem     string // the matching OSV entry's ecosystem ("Go", "Debian:12")
	Package       string // the package name as the advisory writes it
	Version       string // the component's version as the SBOM gives it
	PURL          string
	AdvisoryID    string // the OSV entry's own ID
	Aliases       []string
	Summary       string
	Severity      Severity
	Fixed         []string
}

// FindingKey identifies a finding across re-matches.
type FindingKey struct {
	SBOM, Ecosystem, Package, Version, AdvisoryID string
}

// Key returns the finding's identity.
func (f *Finding) Key() FindingKey {
	return FindingKey{f.SBOM, f.Ecosystem, f.Package, f.Version, f.AdvisoryID}
}

// Compare orders findings by SBOM, ecosystem, package, version and ID,
// which is the deterministic order of every output.
func Compare(a, b *Finding) int {
	return cmp.Or(
		cmp.Compare(a.SBOM, b.SBOM),
		cmp.Compare(a.Ecosystem, b.Ecosystem),
		cmp.Compare(a.Package, b.Package),
		cmp.Compare(a.Version, b.Version),
		cmp.Compare(a.AdvisoryID, b.AdvisoryID),
	)
}

// Changes is what a change of SBOMs or advisories did to the findings.
type Changes struct {
	Added   []Finding
	Removed []Finding
	// Updated findings still hold but their details changed (severity,
	// fixed versions, aliases, summary).
	Updated []Finding
}

// Empty reports whether nothing changed.
func (c Changes) Empty() bool { return len(c.Added)+len(c.Removed)+len(c.Updated) == 0 }

func (c *Changes) sort() {
	for _, l := range [][]Finding{c.Added, c.Removed, c.Updated} {
		slices.SortFunc(l, func(a, b Finding) int { return Compare(&a, &b) })
	}
}

// Matcher keeps the findings of a portfolio of SBOMs against an Index and
// re-matches only what a change touches: a new or changed SBOM re-matches
// only its added or changed package versions; a new, changed or removed
// advisory re-evaluates only the (package version, advisory) pairs of the
// packages it names. It is safe for concurrent use.
type Matcher struct {
	mu    sync.Mutex
	ix    *Index
	docs  map[string]*docState
	users map[Key]map[string]struct{} // package key → SBOMs holding it
}

// pv identifies one package version within an SBOM.
type pv struct {
	key     Key
	release string
	version string
}

type docState struct {
	pkgs     map[pv]*pkgState
	byKey    map[Key][]pv
	findings map[pv]map[string]Finding // advisory ID → finding
}

type pkgState struct {
	pkg  Package
	refs []string
}

// NewMatcher returns a matcher over ix with no SBOMs.
func NewMatcher(ix *Index) *Matcher {
	return &Matcher{ix: ix, docs: map[string]*docState{}, users: map[Key]map[string]struct{}{}}
}

// Index returns the matcher's index.
func (m *Matcher) Index() *Index { return m.ix }

// SetSBOM adds or replaces the SBOM stored under id and returns how its
// findings changed. Components that cannot be matched are returned in
// skipped.
func (m *Matcher) SetSBOM(id string, doc *sbom.Document) (ch Changes, skipped []Skip) {
	pkgs, skipped := Packages(doc)
	return m.SetPackages(id, pkgs), skipped
}

// SetPackages is SetSBOM for callers that hold packages rather than a
// document (for example the store, or ledger items with package URLs).
func (m *Matcher) SetPackages(id string, pkgs []Package) Changes {
	next := &docState{pkgs: map[pv]*pkgState{}, byKey: map[Key][]pv{}, findings: map[pv]map[string]Finding{}}
	for _, p := range pkgs {
		k := pv{p.Key(), p.Release, p.Version}
		ps := next.pkgs[k]
		if ps == nil {
			ps = &pkgState{pkg: p}
			next.pkgs[k] = ps
			next.byKey[k.key] = append(next.byKey[k.key], k)
		}
		if p.Ref != "" {
			ps.refs = append(ps.refs, p.Ref)
		}
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	prev := m.docs[id]
	var ch Changes
	if prev != nil {
		for k, fs := range prev.findings {
			if _, still := next.pkgs[k]; !still {
				for _, f := range fs {
					ch.Removed = append(ch.Removed, f)
				}
			}
		}
		for key := range prev.byKey {
			if _, still := next.byKey[key]; !still {
				m.unuse(key, id)
			}
		}
	}
	for k, ps := range next.pkgs {
		if prev != nil {
			if old, ok := prev.findings[k]; ok {
				// Unchanged package version: keep its findings, with the
				// refs of the new document.
				kept := make(map[string]Finding, len(old))
				for aid, f := range old {
					f.ComponentRefs = ps.refs
					kept[aid] = f
				}
				next.findings[k] = kept
				continue
			}
			if _, had := prev.pkgs[k]; had {
				continue // matched before, with no findings
			}
		}
		matches, _ := m.ix.Match(ps.pkg)
		for _, mt := range matches {
			f := newFinding(id, ps, &mt)
			next.add(k, f)
			ch.Added = append(ch.Added, f)
		}
	}
	for key := range next.byKey {
		m.use(key, id)
	}
	m.docs[id] = next
	ch.sort()
	return ch
}

// RemoveSBOM forgets an SBOM and returns its findings as removed.
func (m *Matcher) RemoveSBOM(id string) Changes {
	m.mu.Lock()
	defer m.mu.Unlock()
	prev := m.docs[id]
	var ch Changes
	if prev == nil {
		return ch
	}
	for _, fs := range prev.findings {
		for _, f := range fs {
			ch.Removed = append(ch.Removed, f)
		}
	}
	for key := range prev.byKey {
		m.unuse(key, id)
	}
	delete(m.docs, id)
	ch.sort()
	return ch
}

// PutAdvisories adds or replaces advisories (withdrawn ones are removed)
// and re-evaluates only the package versions they name.
func (m *Matcher) PutAdvisories(advs ...Advisory) Changes {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ch Changes
	for i := range advs {
		keys := m.ix.Put(advs[i])
		m.rematch(advs[i].ID, keys, &ch)
	}
	ch.sort()
	return ch
}

// RemoveAdvisories deletes advisories and the findings they caused.
func (m *Matcher) RemoveAdvisories(ids ...string) Changes {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ch Changes
	for _, id := range ids {
		keys := m.ix.Remove(id)
		m.rematch(id, keys, &ch)
	}
	ch.sort()
	return ch
}

// rematch re-evaluates advisory aid against every package version with
// one of keys, in every SBOM.
func (m *Matcher) rematch(aid string, keys []Key, ch *Changes) {
	for _, key := range keys {
		for docID := range m.users[key] {
			d := m.docs[docID]
			for _, k := range d.byKey[key] {
				ps := d.pkgs[k]
				old, had := d.findings[k][aid]
				mt, hit := m.ix.MatchAdvisory(ps.pkg, aid)
				switch {
				case hit && !had:
					f := newFinding(docID, ps, &mt)
					d.add(k, f)
					ch.Added = append(ch.Added, f)
				case !hit && had:
					delete(d.findings[k], aid)
					if len(d.findings[k]) == 0 {
						delete(d.findings, k)
					}
					ch.Removed = append(ch.Removed, old)
				case hit && had:
					f := newFinding(docID, ps, &mt)
					if !sameDetails(&old, &f) {
						d.findings[k][aid] = f
						ch.Updated = append(ch.Updated, f)
					}
				}
			}
		}
	}
}

// Findings returns the current findings of one SBOM, in order.
func (m *Matcher) Findings(id string) []Finding {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Finding
	if d := m.docs[id]; d != nil {
		out = d.all(out)
	}
	slices.SortFunc(out, func(a, b Finding) int { return Compare(&a, &b) })
	return out
}

// AllFindings returns the findings of every SBOM, in order.
func (m *Matcher) AllFindings() []Finding {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Finding
	for _, d := range m.docs {
		out = d.all(out)
	}
	slices.SortFunc(out, func(a, b Finding) int { return Compare(&a, &b) })
	return out
}

func (d *docState) add(k pv, f Finding) {
	fs := d.findings[k]
	if fs == nil {
		fs = map[string]Finding{}
		d.findings[k] = fs
	}
	fs[f.AdvisoryID] = f
}

func (d *docState) all(out []Finding) []Finding {
	for _, fs := range d.findings {
		for _, f := range fs {
			out = append(out, f)
		}
	}
	return out
}

func (m *Matcher) use(key Key, id string) {
	s := m.users[key]
	if s == nil {
		s = map[string]struct{}{}
		m.users[key] = s
	}
	s[id] = struct{}{}
}

func (m *Matcher) unuse(key Key, id string) {
	if s := m.users[key]; s != nil {
		delete(s, id)
		if len(s) == 0 {
			delete(m.users, key)
		}
	}
}

func newFinding(sbomID string, ps *pkgState, mt *Match) Finding {
	return Finding{
		SBOM:          sbomID,
		ComponentRefs: ps.refs,
		Ecosystem:     mt.Affected.Ecosystem,
		Package:       mt.Affected.Name,
		Version:       ps.pkg.Version,
		PURL:          ps.pkg.PURL,
		AdvisoryID:    mt.Advisory.ID,
		Aliases:       mt.Advisory.Aliases,
		Summary:       mt.Advisory.Summary,
		Severity:      mt.Severity,
		Fixed:         mt.Fixed,
	}
}

// FindingsFor matches packages against ix once, without keeping state:
// the one-shot path of the CLI. Findings come back in Compare order.
func FindingsFor(ix *Index, sbomID string, pkgs []Package) (out []Finding, versionErrs []error) {
	seen := make(map[pv]*pkgState, len(pkgs))
	order := make([]*pkgState, 0, len(pkgs))
	for _, p := range pkgs {
		k := pv{p.Key(), p.Release, p.Version}
		ps := seen[k]
		if ps == nil {
			ps = &pkgState{pkg: p}
			seen[k] = ps
			order = append(order, ps)
		}
		if p.Ref != "" {
			ps.refs = append(ps.refs, p.Ref)
		}
	}
	// Matching in name order makes the findings come out almost sorted,
	// so the final sort moves little.
	slices.SortFunc(order, func(a, b *pkgState) int {
		return cmp.Or(cmp.Compare(a.pkg.Ecosystem, b.pkg.Ecosystem), cmp.Compare(a.pkg.Name, b.pkg.Name), cmp.Compare(a.pkg.Version, b.pkg.Version))
	})
	// Match in parallel: the index is read-only here.
	all := make([][]Match, len(order))
	errs := make([]error, len(order))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(order)/256))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(order); i += workers {
				all[i], errs[i] = ix.Match(order[i].pkg)
			}
		})
	}
	wg.Wait()
	n := 0
	for i := range order {
		n += len(all[i])
		if errs[i] != nil {
			versionErrs = append(versionErrs, errs[i])
		}
	}
	out = make([]Finding, 0, n)
	for i, ps := range order {
		for j := range all[i] {
			out = append(out, newFinding(sbomID, ps, &all[i][j]))
		}
	}
	if !slices.IsSortedFunc(out, func(a, b Finding) int { return Compare(&a, &b) }) {
		slices.SortStableFunc(out, func(a, b Finding) int { return Compare(&a, &b) })
	}
	return out, versionErrs
}

func sameDetails(a, b *Finding) bool {
	return a.Severity == b.Severity && a.Summary == b.Summary && a.Ecosystem == b.Ecosystem && a.Package == b.Package &&
		slices.Equal(a.Fixed, b.Fixed) && slices.Equal(a.Aliases, b.Aliases)
}
