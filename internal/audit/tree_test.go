package audit_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/mamori-dev/mamori/internal/audit"
)

// memTree keeps every node, as the store does, for tests.
type memTree struct {
	nodes map[audit.NodeID][]byte
	size  uint64
}

func newMemTree() *memTree { return &memTree{nodes: map[audit.NodeID][]byte{}} }

func (m *memTree) AuditNodes(_ context.Context, ids []audit.NodeID) ([][]byte, error) {
	out := make([][]byte, len(ids))
	for i, id := range ids {
		h, ok := m.nodes[id]
		if !ok {
			return nil, fmt.Errorf("node %v missing", id)
		}
		out[i] = h
	}
	return out, nil
}

// add appends leaves the way the store does: read the border, Extend, keep
// the new nodes.
func (m *memTree) add(t testing.TB, leaves ...[]byte) {
	t.Helper()
	border, err := m.AuditNodes(context.Background(), audit.BorderIDs(m.size))
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := audit.Extend(m.size, border, leaves)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range leaves {
		m.nodes[audit.NewNodeID(0, m.size+uint64(i))] = l
	}
	for _, n := range nodes {
		m.nodes[audit.NewNodeID(n.Level, n.Index)] = n.Hash
	}
	m.size += uint64(len(leaves))
}

// naiveRoot is RFC 6962 section 2.1 written out: MTH(D[n]).
func naiveRoot(leaves [][]byte) []byte {
	switch len(leaves) {
	case 0:
		s := sha256.Sum256(nil)
		return s[:]
	case 1:
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	h := sha256.New()
	h.Write([]byte{1})
	h.Write(naiveRoot(leaves[:k]))
	h.Write(naiveRoot(leaves[k:]))
	return h.Sum(nil)
}

func leaf(i int) []byte { return audit.LeafHash([]byte(fmt.Sprintf("event %d", i))) }

func TestTreeMatchesRFC6962AndProofsVerify(t *testing.T) {
	ctx := context.Background()
	m := newMemTree()
	var leaves [][]byte
	roots := map[uint64][]byte{0: naiveRoot(nil)}
	// Appends in batches of varying size, as transactions write them.
	for batch := 1; len(leaves) < 70; batch = batch%5 + 1 {
		var b [][]byte
		for j := 0; j < batch; j++ {
			b = append(b, leaf(len(leaves)+j))
		}
		m.add(t, b...)
		leaves = append(leaves, b...)
		roots[uint64(len(leaves))] = naiveRoot(leaves)
	}
	for size := uint64(1); size <= uint64(len(leaves)); size++ {
		want := naiveRoot(leaves[:size])
		got, err := audit.Root(ctx, m, size)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("root of %d leaves differs from RFC 6962", size)
		}
		for i := uint64(0); i < size; i++ {
			p, err := audit.ProveInclusion(ctx, m, i, size)
			if err != nil {
				t.Fatal(err)
			}
			if err := audit.VerifyInclusion(i, size, leaves[i], p, want); err != nil {
				t.Fatalf("inclusion of %d in %d: %v", i, size, err)
			}
		}
		for from := uint64(0); from <= size; from++ {
			p, err := audit.ProveConsistency(ctx, m, from, size)
			if err != nil {
				t.Fatal(err)
			}
			if err := audit.VerifyConsistency(from, size, p, naiveRoot(leaves[:from]), want); err != nil {
				t.Fatalf("consistency %d → %d: %v", from, size, err)
			}
		}
	}
	// The builder (used by verification) agrees with the stored tree.
	b := audit.NewBuilder(nil)
	for _, l := range leaves {
		b.Append(l)
	}
	if !bytes.Equal(b.Root(), naiveRoot(leaves)) {
		t.Fatal("builder root differs")
	}
}

func TestConsistencyProofFailsForRewrittenHistory(t *testing.T) {
	ctx := context.Background()
	m := newMemTree()
	var leaves [][]byte
	for i := 0; i < 20; i++ {
		leaves = append(leaves, leaf(i))
	}
	m.add(t, leaves...)
	old := naiveRoot(leaves[:13])
	// History rewritten: leaf 5 replaced, tree rebuilt.
	forged := newMemTree()
	alt := append([][]byte(nil), leaves...)
	alt[5] = leaf(1000)
	forged.add(t, alt...)
	p, err := audit.ProveConsistency(ctx, forged, 13, 20)
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.VerifyConsistency(13, 20, p, old, naiveRoot(alt)); err == nil {
		t.Fatal("a rewritten history proved consistent with the old root")
	}
}
