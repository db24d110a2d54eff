package sbom

import (
	"cmp"
	"slices"
)

// Diff is what changed between two versions of an SBOM.
type Diff struct {
	Added     []Component
	Removed   []Component
	Changed   []Change // same Key, different version
	Unchanged int      // components present in both with the same version
}

// Change is one component whose version changed.
type Change struct {
	Key      string
	Old, New Component
}

// Empty reports whether the two documents have the same components.
func (d Diff) Empty() bool {
	return len(d.Added) == 0 && len(d.Removed) == 0 && len(d.Changed) == 0
}

// Compare returns the difference from old to new. Components are matched
// by Key; a key may occur several times (npm trees hold several versions of
// one package), so per key the versions present in both are unchanged, and
// the rest are paired in version-string order as changes, any surplus
// being added or removed. Either document may be nil (nothing).
func Compare(old, new *Document) Diff {
	type group struct{ old, new []Component }
	groups := map[string]*group{}
	var keys []string
	add := func(doc *Document, isNew bool) {
		if doc == nil {
			return
		}
		for _, c := range doc.Components {
			k := c.Key()
			g := groups[k]
			if g == nil {
				g = &group{}
				groups[k] = g
				keys = append(keys, k)
			}
			if isNew {
				g.new = append(g.new, c)
			} else {
				g.old = append(g.old, c)
			}
		}
	}
	add(old, false)
	add(new, true)
	slices.Sort(keys)

	byVersion := func(a, b Component) int { return cmp.Compare(a.Version, b.Version) }
	var d Diff
	for _, k := range keys {
		g := groups[k]
		slices.SortStableFunc(g.old, byVersion)
		slices.SortStableFunc(g.new, byVersion)
		// Merge the two sorted lists: equal versions are unchanged.
		var o, n []Component
		i, j := 0, 0
		for i < len(g.old) && j < len(g.new) {
			switch c := cmp.Compare(g.old[i].Version, g.new[j].Version); {
			case c == 0:
				d.Unchanged++
				i++
				j++
			case c < 0:
				o = append(o, g.old[i])
				i++
			default:
				n = append(n, g.new[j])
				j++
			}
		}
		o = append(o, g.old[i:]...)
		n = append(n, g.new[j:]...)
		m := min(len(o), len(n))
		for x := 0; x < m; x++ {
			d.Changed = append(d.Changed, Change{Key: k, Old: o[x], New: n[x]})
		}
		d.Removed = append(d.Removed, o[m:]...)
		d.Added = append(d.Added, n[m:]...)
	}
	return d
}
