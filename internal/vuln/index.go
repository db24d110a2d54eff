package vuln

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/google/osv-scalibr/semantic"
)

// Index holds advisories compiled for matching: affected entries grouped
// by package key, with every event version parsed once under its range's
// ordering. Build it once, then Match many packages; Put and Remove update
// it in place. It is safe for concurrent use.
type Index struct {
	mu       sync.RWMutex
	byKey    map[Key][]*entry
	byID     map[string]*compiled
	problems map[string][]string // advisory ID → ranges that cannot be evaluated
}

type compiled struct {
	adv     *Advisory
	entries []*entry
}

// entry is one affected[] element, compiled.
type entry struct {
	adv      *Advisory
	af       *Affected
	key      Key
	suffix   string
	ranges   []crange
	versions []cversion
	severity Severity
}

type cversion struct {
	raw    string
	parsed semantic.Version // nil when the ecosystem cannot parse it
	v      version
}

type crange struct {
	semver bool // SEMVER ordering rather than the ecosystem's
	events []cevent
	limits []version
}

type eventKind uint8

const (
	evIntroduced eventKind = iota
	evFixed
	evLastAffected
)

type cevent struct {
	kind eventKind
	zero bool // introduced "0": before every version
	raw  string
	v    version
}

// version is a parsed version with its fast SemVer form when it has one.
type version struct {
	v semantic.Version
	f fastSemver
}

func newVersion(v semantic.Version, raw string) version {
	out := version{v: v}
	if _, ok := v.(semantic.SemverVersion); ok {
		out.f = parseFastSemver(raw)
	}
	return out
}

// compare orders a and b: natively when both have a fast form, else with
// osv-scalibr's semantic.
func (a version) compare(b version) (int, error) {
	if a.f.ok && b.f.ok {
		return a.f.compare(b.f), nil
	}
	return a.v.Compare(b.v)
}

// Match is one advisory that affects a package.
type Match struct {
	Advisory *Advisory
	Affected *Affected // the first affected entry that matched
	Severity Severity
	// Fixed lists the fixed versions above the package's version from the
	// matching entries' ranges, lowest first: the upgrade targets.
	Fixed []string
}

// NewIndex compiles advisories for matching. Withdrawn advisories are
// left out; a later advisory with the same ID replaces an earlier one.
func NewIndex(advs []Advisory) *Index {
	ix := &Index{byKey: map[Key][]*entry{}, byID: map[string]*compiled{}, problems: map[string][]string{}}
	for i := range advs {
		ix.put(&advs[i])
	}
	return ix
}

// Relevant returns the advisories that name at least one of pkgs' keys:
// a one-shot match (the CLI) compiles only those, since compiling every
// event version of a large database costs more than matching.
func Relevant(advs []Advisory, pkgs []Package) []Advisory {
	want := make(map[Key]bool, len(pkgs))
	for _, p := range pkgs {
		want[p.Key()] = true
	}
	var out []Advisory
	for i := range advs {
		for _, af := range advs[i].Affected {
			base, _ := splitEcosystem(af.Ecosystem)
			if want[Key{base, normalizeName(base, af.Name)}] {
				out = append(out, advs[i])
				break
			}
		}
	}
	return out
}

// Len returns the number of advisories in the index.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.byID)
}

// Advisory returns the advisory with the given ID.
func (ix *Index) Advisory(id string) (*Advisory, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	c, ok := ix.byID[id]
	if !ok {
		return nil, false
	}
	return c.adv, true
}

// Problems lists, per advisory ID, ranges whose versions the ecosystem's
// rules cannot parse; such ranges are not evaluated (versions lists still
// are).
func (ix *Index) Problems() map[string][]string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	out := make(map[string][]string, len(ix.problems))
	for k, v := range ix.problems {
		out[k] = slices.Clone(v)
	}
	return out
}

// Put adds or replaces an advisory (a withdrawn one is removed) and
// returns the package keys whose matches may have changed: those of the
// old and the new version of the advisory.
func (ix *Index) Put(a Advisory) []Key {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	keys := ix.remove(a.ID)
	return mergeKeys(keys, ix.put(&a))
}

// Remove deletes an advisory and returns the package keys it affected.
func (ix *Index) Remove(id string) []Key {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.remove(id)
}

func (ix *Index) remove(id string) []Key {
	c, ok := ix.byID[id]
	if !ok {
		return nil
	}
	delete(ix.byID, id)
	delete(ix.problems, id)
	var keys []Key
	for _, e := range c.entries {
		list := ix.byKey[e.key]
		list = slices.DeleteFunc(list, func(x *entry) bool { return x.adv == c.adv })
		if len(list) == 0 {
			delete(ix.byKey, e.key)
		} else {
			ix.byKey[e.key] = list
		}
		keys = append(keys, e.key)
	}
	return mergeKeys(nil, keys)
}

func (ix *Index) put(a *Advisory) []Key {
	if a.IsWithdrawn() || a.ID == "" {
		return nil
	}
	if _, dup := ix.byID[a.ID]; dup {
		ix.remove(a.ID)
	}
	c := &compiled{adv: a}
	var keys []Key
	for i := range a.Affected {
		af := &a.Affected[i]
		if af.Ecosystem == "" || af.Name == "" {
			continue // GIT-only entries need a commit graph; not matched
		}
		base, suffix := splitEcosystem(af.Ecosystem)
		e := &entry{adv: a, af: af, key: Key{base, normalizeName(base, af.Name)}, suffix: suffix}
		e.severity = severityOf(a, af)
		for _, v := range af.Versions {
			pv, err := semantic.Parse(v, base)
			if err != nil {
				pv = nil
			}
			cv := cversion{raw: v, parsed: pv}
			if pv != nil {
				cv.v = newVersion(pv, v)
			}
			e.versions = append(e.versions, cv)
		}
		for j, r := range af.Ranges {
			cr, err := compileRange(r, base)
			if err != nil {
				ix.problems[a.ID] = append(ix.problems[a.ID], fmt.Sprintf("affected[%d].ranges[%d]: %v", i, j, err))
				continue
			}
			if cr != nil {
				e.ranges = append(e.ranges, *cr)
			}
		}
		c.entries = append(c.entries, e)
		ix.byKey[e.key] = append(ix.byKey[e.key], e)
		keys = append(keys, e.key)
	}
	ix.byID[a.ID] = c
	return mergeKeys(nil, keys)
}

// compileRange parses and sorts a range's events. GIT ranges return nil:
// commit ranges need the repository's history, which an SBOM version
// cannot be placed in.
func compileRange(r Range, ecosystem string) (*crange, error) {
	if r.Type != RangeSemver && r.Type != RangeEcosystem {
		return nil, nil
	}
	cr := &crange{semver: r.Type == RangeSemver}
	parse := func(s string) (semantic.Version, error) {
		if cr.semver {
			return semantic.ParseSemverVersion(s), nil
		}
		return semantic.Parse(s, ecosystem)
	}
	for _, ev := range r.Events {
		var ce cevent
		var raw string
		switch {
		case ev.Introduced != "":
			ce.kind, raw = evIntroduced, ev.Introduced
			ce.zero = raw == "0"
		case ev.Fixed != "":
			ce.kind, raw = evFixed, ev.Fixed
		case ev.LastAffected != "":
			ce.kind, raw = evLastAffected, ev.LastAffected
		case ev.Limit != "":
			if strings.Contains(ev.Limit, "*") {
				continue // "*" is infinity: no limit
			}
			v, err := parse(ev.Limit)
			if err != nil {
				return nil, fmt.Errorf("limit %q: %w", ev.Limit, err)
			}
			cr.limits = append(cr.limits, newVersion(v, ev.Limit))
			continue
		default:
			continue
		}
		ce.raw = raw
		if !ce.zero {
			v, err := parse(raw)
			if err != nil {
				return nil, fmt.Errorf("version %q: %w", raw, err)
			}
			ce.v = newVersion(v, raw)
		}
		cr.events = append(cr.events, ce)
	}
	// Sort by version, "0" first; equal versions keep document order.
	var sortErr error
	slices.SortStableFunc(cr.events, func(a, b cevent) int {
		switch {
		case a.zero && b.zero:
			return 0
		case a.zero:
			return -1
		case b.zero:
			return 1
		}
		c, err := a.v.v.Compare(b.v.v)
		if err != nil {
			sortErr = err
		}
		return c
	})
	if sortErr != nil {
		return nil, sortErr
	}
	return cr, nil
}

// parsedVersion caches a package version parsed under the two orderings.
type parsedVersion struct {
	raw                string
	ecosystem          string
	eco, sem           version
	ecoErr             error
	ecoDone, semParsed bool
}

func (p *parsedVersion) get(semver bool) (version, error) {
	if semver {
		if !p.semParsed {
			p.sem = newVersion(semantic.ParseSemverVersion(p.raw), p.raw)
			p.semParsed = true
		}
		return p.sem, nil
	}
	if !p.ecoDone {
		v, err := semantic.Parse(p.raw, p.ecosystem)
		p.ecoErr = err
		if err == nil {
			p.eco = newVersion(v, p.raw)
		}
		p.ecoDone = true
	}
	return p.eco, p.ecoErr
}

// Match returns the advisories affecting p, ordered by advisory ID. A
// version the ecosystem cannot parse is reported in err; exact matches
// against versions lists are still made.
func (ix *Index) Match(p Package) (matches []Match, err error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	key := p.Key()
	pv := &parsedVersion{raw: p.Version, ecosystem: p.Ecosystem}
	var last *Advisory
	entries := ix.byKey[key]
	if len(entries) > 0 {
		matches = make([]Match, 0, len(entries))
	}
	for _, e := range entries {
		if !releaseMatches(key.Ecosystem, e.suffix, p.Release) {
			continue
		}
		hit, fixed, verr := e.affects(pv)
		if verr != nil && err == nil {
			err = verr
		}
		if !hit {
			continue
		}
		if last == e.adv {
			// A second entry of the same advisory for this package: merge
			// its fixed versions.
			m := &matches[len(matches)-1]
			m.Fixed = mergeFixed(m.Fixed, fixed)
			continue
		}
		last = e.adv
		matches = append(matches, Match{Advisory: e.adv, Affected: e.af, Severity: e.severity, Fixed: fixed})
	}
	slices.SortFunc(matches, func(a, b Match) int { return cmp.Compare(a.Advisory.ID, b.Advisory.ID) })
	return matches, err
}

// MatchAdvisory reports whether the advisory with the given ID affects p.
func (ix *Index) MatchAdvisory(p Package, id string) (Match, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	c, ok := ix.byID[id]
	if !ok {
		return Match{}, false
	}
	key := p.Key()
	pv := &parsedVersion{raw: p.Version, ecosystem: p.Ecosystem}
	var m Match
	found := false
	for _, e := range c.entries {
		if e.key != key || !releaseMatches(key.Ecosystem, e.suffix, p.Release) {
			continue
		}
		if hit, fixed, _ := e.affects(pv); hit {
			if !found {
				m = Match{Advisory: e.adv, Affected: e.af, Severity: e.severity}
				found = true
			}
			m.Fixed = mergeFixed(m.Fixed, fixed)
		}
	}
	return m, found
}

// affects evaluates the OSV rule: a version is affected if it is in the
// versions list or inside any range. A package without a version is
// treated as affected by any entry that lists versions or ranges, since
// an unknown version cannot be cleared (osv-scanner does the same).
func (e *entry) affects(pv *parsedVersion) (hit bool, fixed []string, err error) {
	if pv.raw == "" {
		return len(e.versions) > 0 || len(e.af.Ranges) > 0, nil, nil
	}
	for _, v := range e.versions {
		if v.raw == pv.raw {
			hit = true
			break
		}
		if v.parsed != nil {
			if p, perr := pv.get(false); perr == nil {
				if c, cerr := p.compare(v.v); cerr == nil && c == 0 {
					hit = true
					break
				}
			}
		}
	}
	for i := range e.ranges {
		r := &e.ranges[i]
		v, verr := pv.get(r.semver)
		if verr != nil {
			err = fmt.Errorf("version %q is not a valid %s version: %w", pv.raw, pv.ecosystem, verr)
			continue
		}
		in := r.contains(v)
		if in || hit {
			fixed = append(fixed, r.fixedAbove(v)...)
		}
		hit = hit || in
	}
	if !hit {
		return false, nil, err
	}
	return true, mergeFixed(nil, fixed), err
}

// contains is the OSV schema's evaluation of one range.
func (r *crange) contains(v version) bool {
	if len(r.limits) > 0 {
		below := false
		for _, l := range r.limits {
			if c, err := v.compare(l); err == nil && c < 0 {
				below = true
				break
			}
		}
		if !below {
			return false
		}
	}
	vulnerable := false
	for i := range r.events {
		ev := &r.events[i]
		if ev.zero {
			vulnerable = true
			continue
		}
		c, err := v.compare(ev.v)
		if err != nil {
			return false
		}
		switch ev.kind {
		case evIntroduced:
			if c >= 0 {
				vulnerable = true
			}
		case evFixed:
			if c >= 0 {
				vulnerable = false
			}
		case evLastAffected:
			if c > 0 {
				vulnerable = false
			}
		}
	}
	return vulnerable
}

// fixedAbove lists the range's fixed versions above v, in order.
func (r *crange) fixedAbove(v version) []string {
	var out []string
	for i := range r.events {
		ev := &r.events[i]
		if ev.kind != evFixed {
			continue
		}
		if c, err := v.compare(ev.v); err == nil && c < 0 {
			out = append(out, ev.raw)
		}
	}
	return out
}

// mergeFixed appends b to a without duplicates; the order of first
// appearance is kept (each range lists its fixes in version order).
func mergeFixed(a, b []string) []string {
	for _, f := range b {
		if !slices.Contains(a, f) {
			a = append(a, f)
		}
	}
	return a
}

func mergeKeys(a, b []Key) []Key {
	for _, k := range b {
		if !slices.Contains(a, k) {
			a = append(a, k)
		}
	}
	return a
}
