package control

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/mamori-dev/mamori"
)

// Library is a set of catalogs that may map into each other. It resolves a
// framework ID to its newest edition, or a "id@date" key to that edition.
type Library struct {
	byKey map[string]*Catalog
	keys  []string
}

// NewLibrary validates each catalog and then every mapping against the
// set. Two catalogs with the same key are an error.
func NewLibrary(cats ...*Catalog) (*Library, error) {
	l := &Library{byKey: make(map[string]*Catalog)}
	for _, c := range cats {
		if err := c.Validate(); err != nil {
			return nil, err
		}
		if _, dup := l.byKey[c.Key()]; dup {
			return nil, mamori.Errorf(mamori.ECONFLICT, "Catalog %s is given twice.", c.Key())
		}
		l.byKey[c.Key()] = c
		l.keys = append(l.keys, c.Key())
	}
	slices.Sort(l.keys)
	for _, k := range l.keys {
		if err := ValidateMappings(l.byKey[k], l); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// Catalog returns the catalog for an ID ("fsa-csgl", newest edition) or a
// key ("fsa-csgl@2025-07-04"), or an ENOTFOUND error.
func (l *Library) Catalog(id string) (*Catalog, error) {
	if c, ok := l.byKey[id]; ok {
		return c, nil
	}
	var best *Catalog
	for _, k := range l.keys {
		c := l.byKey[k]
		if c.Framework.ID == id && (best == nil || c.Edition.Date > best.Edition.Date) {
			best = c
		}
	}
	if best == nil {
		return nil, mamori.Errorf(mamori.ENOTFOUND, "There is no catalog %q.", id)
	}
	return best, nil
}

// List returns every catalog, ordered by key.
func (l *Library) List() []*Catalog {
	out := make([]*Catalog, 0, len(l.keys))
	for _, k := range l.keys {
		out = append(out, l.byKey[k])
	}
	return out
}

// Resolve returns the node a mapping points at.
func (l *Library) Resolve(m Mapping) (*Catalog, *Node, error) {
	c, err := l.Catalog(m.TargetCatalog)
	if err != nil {
		return nil, nil, err
	}
	n, err := c.Node(m.Target)
	if err != nil {
		return nil, nil, err
	}
	return c, n, nil
}

// MappingsInto returns the mappings of every catalog in the library whose
// target is the given node: what the 2022 advisory and the FinTech
// checkpoints say about an FSA guideline item.
func (l *Library) MappingsInto(catalogID, nodeID string) []SourcedMapping {
	var out []SourcedMapping
	for _, k := range l.keys {
		c := l.byKey[k]
		for _, m := range c.Mappings {
			if m.TargetCatalog == catalogID && m.Target == nodeID {
				out = append(out, SourcedMapping{SourceCatalog: c.Framework.ID, Mapping: m})
			}
		}
	}
	return out
}

// SourcedMapping is a mapping with the catalog it comes from.
type SourcedMapping struct {
	SourceCatalog string `json:"source_catalog"`
	Mapping
}

//go:embed catalogs/*.yaml
var shippedFiles embed.FS

// Shipped returns the catalogs that come with mamori: the FSA guideline
// (fsa-csgl), the 2022 advisory (fsa-2022-advisory) and the FinTech
// checkpoints (fintech-checkpoints). They are parsed and validated on the
// first call; every call returns the same library, which callers must not
// modify.
func Shipped() (*Library, error) { return loadShipped() }

var loadShipped = sync.OnceValues(func() (*Library, error) {
	return LoadLibrary(shippedFiles, "catalogs")
})

// LoadLibrary reads every *.yaml and *.json catalog in dir of fsys.
func LoadLibrary(fsys fs.FS, dir string) (*Library, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read catalogs in %s: %w", dir, err)
	}
	var cats []*Catalog
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() {
			continue
		}
		data, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read catalog %s: %w", name, err)
		}
		var c *Catalog
		switch {
		case strings.HasSuffix(name, ".yaml"), strings.HasSuffix(name, ".yml"):
			c, err = DecodeYAML(data)
		case strings.HasSuffix(name, ".json"):
			c, err = DecodeJSON(data)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("catalog file %s: %w", name, err)
		}
		cats = append(cats, c)
	}
	return NewLibrary(cats...)
}
