package audit

import (
	"context"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// The audit trail is an RFC 6962 Merkle tree whose leaves are the events in
// seq order. The store keeps every perfect subtree hash (a "node") as it is
// completed, so a root, an inclusion proof or a consistency proof needs only
// O(log n) stored hashes, whatever the size of the trail.

// Hasher is the RFC 6962 SHA-256 tree hasher.
var Hasher = rfc6962.DefaultHasher

var ranges = &compact.RangeFactory{Hash: Hasher.HashChildren}

// NodeID names a node of the tree: level 0 holds the leaves, level l the
// hashes of perfect subtrees of 2^l leaves.
type NodeID = compact.NodeID

// Node is a stored perfect subtree hash.
type Node struct {
	Level uint
	Index uint64
	Hash  []byte
}

// NodeReader returns stored node hashes, in the order of ids. Level-0 nodes
// are the recorded leaf hashes. A missing node is an error.
type NodeReader interface {
	AuditNodes(ctx context.Context, ids []NodeID) ([][]byte, error)
}

// BorderIDs returns the perfect subtrees that make up a tree of size leaves,
// left to right (its compact range).
func BorderIDs(size uint64) []NodeID { return compact.RangeNodes(0, size, nil) }

// Extend appends leaf hashes to a tree of size leaves whose compact range is
// border (the hashes of BorderIDs(size)). It returns the perfect nodes of
// level 1 and above that the new leaves complete, for the store to keep.
func Extend(size uint64, border [][]byte, leaves [][]byte) ([]Node, error) {
	r, err := ranges.NewRange(0, size, border)
	if err != nil {
		return nil, fmt.Errorf("audit tree of size %d: %w", size, err)
	}
	var nodes []Node
	visit := func(id NodeID, h []byte) {
		if id.Level > 0 {
			nodes = append(nodes, Node{Level: id.Level, Index: id.Index, Hash: h})
		}
	}
	for _, l := range leaves {
		if err := r.Append(l, visit); err != nil {
			return nil, err
		}
	}
	return nodes, nil
}

// RootOf returns the root hash of the tree whose compact range is border.
func RootOf(size uint64, border [][]byte) ([]byte, error) {
	if size == 0 {
		return Hasher.EmptyRoot(), nil
	}
	r, err := ranges.NewRange(0, size, border)
	if err != nil {
		return nil, fmt.Errorf("audit tree of size %d: %w", size, err)
	}
	return r.GetRootHash(nil)
}

// Root returns the root hash of the tree of the first size leaves.
func Root(ctx context.Context, nr NodeReader, size uint64) ([]byte, error) {
	if size == 0 {
		return Hasher.EmptyRoot(), nil
	}
	border, err := nr.AuditNodes(ctx, BorderIDs(size))
	if err != nil {
		return nil, err
	}
	return RootOf(size, border)
}

// ProveInclusion proves that leaf index is in the tree of size leaves.
func ProveInclusion(ctx context.Context, nr NodeReader, index, size uint64) ([][]byte, error) {
	n, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, err
	}
	return rehash(ctx, nr, n)
}

// ProveConsistency proves that the tree of size2 leaves extends the tree of
// size1 leaves: the first size1 events are unchanged.
func ProveConsistency(ctx context.Context, nr NodeReader, size1, size2 uint64) ([][]byte, error) {
	n, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, err
	}
	return rehash(ctx, nr, n)
}

func rehash(ctx context.Context, nr NodeReader, n proof.Nodes) ([][]byte, error) {
	if len(n.IDs) == 0 {
		return [][]byte{}, nil
	}
	hashes, err := nr.AuditNodes(ctx, n.IDs)
	if err != nil {
		return nil, err
	}
	return n.Rehash(hashes, Hasher.HashChildren)
}

// VerifyInclusion checks an inclusion proof against a root.
func VerifyInclusion(index, size uint64, leaf []byte, p [][]byte, root []byte) error {
	return proof.VerifyInclusion(Hasher, index, size, leaf, p, root)
}

// VerifyConsistency checks a consistency proof between two roots.
func VerifyConsistency(size1, size2 uint64, p [][]byte, root1, root2 []byte) error {
	return proof.VerifyConsistency(Hasher, size1, size2, p, root1, root2)
}

// Builder computes the tree of a stream of leaves in O(log n) memory, for
// verification: roots at any size along the way, and every node it completes.
type Builder struct {
	r     *compact.Range
	visit compact.VisitFn
}

// NewBuilder returns an empty tree; visit, if not nil, sees every node of
// level 1 and above as it is completed.
func NewBuilder(visit func(Node)) *Builder {
	b := &Builder{r: ranges.NewEmptyRange(0)}
	if visit != nil {
		b.visit = func(id NodeID, h []byte) {
			if id.Level > 0 {
				visit(Node{Level: id.Level, Index: id.Index, Hash: h})
			}
		}
	}
	return b
}

// Append adds the next leaf hash.
func (b *Builder) Append(leaf []byte) {
	// Append fails only for a corrupted range, which a Builder never has.
	_ = b.r.Append(leaf, b.visit)
}

// Size is the number of leaves appended.
func (b *Builder) Size() uint64 { return b.r.End() }

// Root is the root hash of the leaves appended so far.
func (b *Builder) Root() []byte {
	if b.r.End() == 0 {
		return Hasher.EmptyRoot()
	}
	h, _ := b.r.GetRootHash(nil)
	return h
}
