package control

import (
	"errors"

	"github.com/mamori-dev/mamori"
)

// SkipChildren, returned by a Walk function, skips the node's children.
var SkipChildren = errors.New("skip children")

// Walk calls fn for every node in document order (depth first, parents
// before children). parent is nil for top-level nodes; depth starts at 1.
// An error from fn other than SkipChildren stops the walk and is returned.
func (c *Catalog) Walk(fn func(n, parent *Node, depth int) error) error {
	return walk(c.Nodes, nil, 1, fn)
}

func walk(nodes []*Node, parent *Node, depth int, fn func(n, parent *Node, depth int) error) error {
	for _, n := range nodes {
		if n == nil {
			continue
		}
		err := fn(n, parent, depth)
		if errors.Is(err, SkipChildren) {
			continue
		}
		if err != nil {
			return err
		}
		if err := walk(n.Children, n, depth+1, fn); err != nil {
			return err
		}
	}
	return nil
}

// WalkNode walks the subtree under n (n included), like Walk.
func WalkNode(n *Node, fn func(n, parent *Node, depth int) error) error {
	return walk([]*Node{n}, nil, 1, fn)
}

// reindex builds the ID and parent indexes. Duplicate IDs keep the first.
func (c *Catalog) reindex() *index {
	ix := &index{node: make(map[string]*Node), parent: make(map[string]*Node)}
	_ = c.Walk(func(n, parent *Node, _ int) error {
		if _, dup := ix.node[n.ID]; !dup {
			ix.node[n.ID] = n
			if parent != nil {
				ix.parent[n.ID] = parent
			}
		}
		return nil
	})
	c.idx.Store(ix)
	return ix
}

func (c *Catalog) index() *index {
	if ix := c.idx.Load(); ix != nil {
		return ix
	}
	return c.reindex()
}

// Node returns the node with the given ID, or an ENOTFOUND error.
func (c *Catalog) Node(id string) (*Node, error) {
	if n, ok := c.index().node[id]; ok {
		return n, nil
	}
	return nil, mamori.Errorf(mamori.ENOTFOUND, "Catalog %s has no requirement %q.", c.Framework.ID, id)
}

// Has reports whether the catalog has a node with the given ID.
func (c *Catalog) Has(id string) bool {
	_, ok := c.index().node[id]
	return ok
}

// Parent returns the parent of the node with the given ID; nil for a
// top-level node. An unknown ID is an ENOTFOUND error.
func (c *Catalog) Parent(id string) (*Node, error) {
	if _, err := c.Node(id); err != nil {
		return nil, err
	}
	return c.index().parent[id], nil
}

// Path returns the chain of nodes from the top level down to the node.
func (c *Catalog) Path(id string) ([]*Node, error) {
	n, err := c.Node(id)
	if err != nil {
		return nil, err
	}
	path := []*Node{n}
	parents := c.index().parent
	for p := parents[n.ID]; p != nil; p = parents[p.ID] {
		path = append([]*Node{p}, path...)
	}
	return path, nil
}

// Items returns every assessable item in document order.
func (c *Catalog) Items() []*Node {
	var out []*Node
	_ = c.Walk(func(n, _ *Node, _ int) error {
		if n.Assessable() {
			out = append(out, n)
		}
		return nil
	})
	return out
}

// Areas returns the reporting areas: the nodes marked Area, or the
// top-level nodes when none is marked.
func (c *Catalog) Areas() []*Node {
	var out []*Node
	_ = c.Walk(func(n, _ *Node, _ int) error {
		if n.Area {
			out = append(out, n)
			return SkipChildren
		}
		return nil
	})
	if len(out) == 0 {
		for _, n := range c.Nodes {
			if n != nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// Area returns the area the node belongs to (itself if it is one), or nil
// when the node lies outside every area (e.g. the narrative section 1).
func (c *Catalog) Area(id string) (*Node, error) {
	path, err := c.Path(id)
	if err != nil {
		return nil, err
	}
	areas := c.Areas()
	for _, p := range path {
		for _, a := range areas {
			if a == p {
				return a, nil
			}
		}
	}
	return nil, nil
}

// Counts is the number of assessable items, in total and by tier.
type Counts struct {
	Items  int          `json:"items"`
	ByTier map[Tier]int `json:"by_tier,omitempty"`
}

func (k *Counts) add(n *Node) {
	k.Items++
	if n.Tier != "" {
		if k.ByTier == nil {
			k.ByTier = make(map[Tier]int)
		}
		k.ByTier[n.Tier]++
	}
}

// Count counts the assessable items of the whole catalog.
func (c *Catalog) Count() Counts {
	var k Counts
	for _, n := range c.Items() {
		k.add(n)
	}
	return k
}

// CountUnder counts the assessable items in the subtree under id, the node
// itself included.
func (c *Catalog) CountUnder(id string) (Counts, error) {
	n, err := c.Node(id)
	if err != nil {
		return Counts{}, err
	}
	var k Counts
	_ = WalkNode(n, func(n, _ *Node, _ int) error {
		if n.Assessable() {
			k.add(n)
		}
		return nil
	})
	return k, nil
}

// AreaCount is the item count of one area.
type AreaCount struct {
	ID    string `json:"id"`
	Ref   string `json:"ref,omitempty"`
	Title Text   `json:"title"`
	Counts
}

// CountByArea counts the assessable items of every area, in order.
func (c *Catalog) CountByArea() []AreaCount {
	var out []AreaCount
	for _, a := range c.Areas() {
		k, _ := c.CountUnder(a.ID)
		out = append(out, AreaCount{ID: a.ID, Ref: a.Ref, Title: a.Title, Counts: k})
	}
	return out
}

// EvidenceHints returns the hints of the node and of its ancestors, nearest
// first: the guideline names evidence per section, so an item inherits them.
func (c *Catalog) EvidenceHints(id string) ([]Text, error) {
	path, err := c.Path(id)
	if err != nil {
		return nil, err
	}
	var out []Text
	for i := len(path) - 1; i >= 0; i-- {
		out = append(out, path[i].EvidenceHints...)
	}
	return out, nil
}

// MappingsFrom returns the mappings whose source is id.
func (c *Catalog) MappingsFrom(id string) []Mapping {
	var out []Mapping
	for _, m := range c.Mappings {
		if m.Source == id {
			out = append(out, m)
		}
	}
	return out
}
