package audit

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// StoredEvent is an event as the store holds it: the fields, the details
// text exactly as stored, and the leaf hash recorded when it was written.
type StoredEvent struct {
	Event
	DetailsText string
	LeafHash    []byte
}

// Leaf recomputes the event's leaf hash from its stored fields.
func (s *StoredEvent) Leaf() []byte { return LeafHash(s.Canonical(s.DetailsText)) }

// Trail is the stored audit trail, as verification reads it.
type Trail interface {
	// ScanAuditEvents calls fn for the stored events with from <= seq < to
	// (to == 0: to the end), in seq order, inside one consistent snapshot.
	// An error from fn stops the scan and is returned.
	ScanAuditEvents(ctx context.Context, from, to uint64, fn func(*StoredEvent) error) error
}

// ProblemKind classifies what verification found.
type ProblemKind string

const (
	Changed       ProblemKind = "changed"    // an event's fields no longer match its recorded hash
	Removed       ProblemKind = "removed"    // events are missing (a gap, a renumbering or a cut end)
	Inserted      ProblemKind = "inserted"   // an event that was never recorded sits in the trail
	Reordered     ProblemKind = "reordered"  // an event moved to another position
	Diverged      ProblemKind = "diverged"   // the trail no longer matches a signed checkpoint
	BadCheckpoint ProblemKind = "checkpoint" // a checkpoint is forged or malformed
	BadNodes      ProblemKind = "tree"       // stored tree nodes disagree with the events (proofs would fail)
)

// Problem is one finding of a verification. Seq and ID name the first event
// concerned (Seq is -1 when no single event is).
type Problem struct {
	Kind    ProblemKind
	Seq     int64
	ID      string
	Message string
}

func (p *Problem) Error() string { return p.Message }

// SourcedCheckpoint is a signed checkpoint and where it came from (the
// database, the checkpoint directory, a file an auditor kept).
type SourcedCheckpoint struct {
	Source string
	Note   []byte
}

// CheckpointResult says how one checkpoint compared with the trail.
type CheckpointResult struct {
	Source string
	Size   uint64
	Time   time.Time
	OK     bool
}

// Report is the result of Verify.
type Report struct {
	Events      uint64 // events read
	Root        []byte // root of the recomputed tree (all events read)
	Checkpoints []CheckpointResult
	Problems    []*Problem // the first one is the earliest in the trail
	Duration    time.Duration
}

// OK reports whether the trail verified.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// First returns the first problem, or nil.
func (r *Report) First() *Problem {
	if len(r.Problems) == 0 {
		return nil
	}
	return r.Problems[0]
}

// Summary is a one-line account of the result.
func (r *Report) Summary() string {
	if r.OK() {
		s := fmt.Sprintf("audit trail verified: %d events, root %s", r.Events, hex.EncodeToString(r.Root))
		if n := len(r.Checkpoints); n > 0 {
			latest := r.Checkpoints[0]
			for _, c := range r.Checkpoints {
				if c.Size > latest.Size {
					latest = c
				}
			}
			s += fmt.Sprintf(", consistent with %d signed checkpoint(s) (latest: size %d, signed %s)", n, latest.Size,
				latest.Time.UTC().Format(time.RFC3339))
		} else {
			s += ", no signed checkpoint yet"
		}
		return s
	}
	return fmt.Sprintf("audit trail NOT verified: %s", r.Problems[0].Message)
}

// maxMismatches bounds how many mismatching events are kept to classify the
// first one; beyond it the scan stops.
const maxMismatches = 64

// Verify recomputes every leaf from the stored fields and the whole tree,
// and compares it with the recorded leaf hashes, the stored tree nodes (if
// nr is not nil) and every signed checkpoint given. It reports the first
// event that was changed, removed, inserted or reordered.
func Verify(ctx context.Context, trail Trail, nr NodeReader, trusted *Verifiers, cps []SourcedCheckpoint) (*Report, error) {
	start := time.Now()
	rep := &Report{}
	type cpAt struct {
		*Checkpoint
		source string
	}
	var checks []cpAt
	for _, c := range cps {
		cp, err := ParseCheckpoint(c.Note, trusted)
		if err != nil {
			rep.Problems = append(rep.Problems, &Problem{Kind: BadCheckpoint, Seq: -1,
				Message: fmt.Sprintf("the checkpoint from %s cannot be trusted: %v", c.Source, err)})
			continue
		}
		checks = append(checks, cpAt{cp, c.Source})
	}
	sort.SliceStable(checks, func(i, j int) bool { return checks[i].Size < checks[j].Size })

	b := NewBuilder(nil)
	var (
		mismatches []*StoredEvent
		before     *StoredEvent // the event just before the first mismatch
		gap        *Problem
		prev       *StoredEvent
		next       = 0 // next checkpoint to compare
		diverged   *Problem
		divergedAt *Checkpoint
		lastGood   uint64
		lastGoodAt time.Time
		errStop    = errors.New("stop")
	)
	compare := func() {
		for next < len(checks) && checks[next].Size == b.Size() {
			c := checks[next]
			ok := bytes.Equal(b.Root(), c.Root)
			rep.Checkpoints = append(rep.Checkpoints, CheckpointResult{Source: c.source, Size: c.Size, Time: c.Time, OK: ok})
			if ok {
				lastGood, lastGoodAt = c.Size, c.Time
			} else if diverged == nil {
				msg := fmt.Sprintf("the first %d events no longer match the checkpoint signed %s (%s)",
					c.Size, c.Time.UTC().Format(time.RFC3339), c.source)
				if lastGood > 0 {
					msg += fmt.Sprintf("; the first %d still match the checkpoint signed %s", lastGood, lastGoodAt.UTC().Format(time.RFC3339))
				}
				diverged, divergedAt = &Problem{Kind: Diverged, Seq: int64(lastGood), Message: msg}, c.Checkpoint
			}
			next++
		}
	}
	compare() // a checkpoint of size 0
	err := scanLeaves(ctx, trail, func(e *StoredEvent, leaf []byte) error {
		pos := int64(b.Size())
		if e.Seq != pos {
			if e.Seq > pos {
				gap = &Problem{Kind: Removed, Seq: pos, Message: removedRange(pos, e, prev)}
			} else {
				gap = &Problem{Kind: Inserted, Seq: e.Seq, ID: e.ID,
					Message: fmt.Sprintf("event seq %d (id %s) is out of sequence", e.Seq, e.ID)}
			}
			return errStop
		}
		if !bytes.Equal(leaf, e.LeafHash) {
			if len(mismatches) == 0 {
				before = prev
			}
			cp := *e
			mismatches = append(mismatches, &cp)
			if len(mismatches) >= maxMismatches {
				return errStop
			}
		}
		b.Append(leaf)
		compare()
		c := *e
		prev = &c
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, fmt.Errorf("read the audit trail: %w", err)
	}
	stopped := err != nil
	rep.Events = b.Size()
	rep.Root = b.Root()

	var first []*Problem
	if len(mismatches) > 0 {
		first = append(first, classify(mismatches, before))
	}
	if gap != nil {
		first = append(first, gap)
	}
	if !stopped {
		for ; next < len(checks); next++ {
			c := checks[next]
			rep.Checkpoints = append(rep.Checkpoints, CheckpointResult{Source: c.source, Size: c.Size, Time: c.Time})
			first = append(first, &Problem{Kind: Removed, Seq: int64(rep.Events),
				Message: fmt.Sprintf("the trail ends after %d events, but the checkpoint signed %s (%s) covers %d: the events from seq %d to %d were removed",
					rep.Events, c.Time.UTC().Format(time.RFC3339), c.source, c.Size, rep.Events, c.Size-1)})
			break
		}
	}
	// Leaf-level findings name the event exactly; a diverged checkpoint
	// without them means the recorded hashes were rewritten too.
	sort.SliceStable(first, func(i, j int) bool { return seqKey(first[i]) < seqKey(first[j]) })
	if diverged != nil {
		if len(first) == 0 {
			// No event disagrees with its recorded hash: the hashes were
			// rewritten along with the events.
			diverged.Message = fmt.Sprintf("%s: an event from seq %d to %d was changed, inserted, removed or reordered, and its recorded hash rewritten",
				diverged.Message, lastGood, divergedAt.Size-1)
		}
		if len(first) == 0 && nr != nil {
			if p := localize(ctx, trail, nr, divergedAt, lastGood); p != nil {
				p.Message += "; " + diverged.Message
				diverged = p
			}
		}
		first = append(first, diverged)
	}
	if len(first) == 0 && nr != nil && rep.Events > 0 {
		stored, err := Root(ctx, nr, rep.Events)
		if err != nil || !bytes.Equal(stored, rep.Root) {
			why := "they do not give the same root"
			if err != nil {
				why = err.Error()
			}
			first = append(first, &Problem{Kind: BadNodes, Seq: -1,
				Message: fmt.Sprintf("the stored Merkle tree nodes do not match the events (%s): proofs served from them would fail", why)})
		}
	}
	rep.Problems = append(first, rep.Problems...)
	rep.Duration = time.Since(start)
	return rep, nil
}

// scanLeaves streams the trail and computes the leaf hashes on the other
// cores (JSON encoding and hashing are most of a verification's work), and
// calls visit in seq order on the calling goroutine. An error from visit
// stops the scan and is returned.
func scanLeaves(ctx context.Context, trail Trail, visit func(*StoredEvent, []byte) error) error {
	workers := max(runtime.GOMAXPROCS(0)-1, 1)
	type batch struct {
		evs    []StoredEvent
		leaves [][]byte
		done   chan struct{}
	}
	const size = 256
	newBatch := func() *batch { return &batch{evs: make([]StoredEvent, 0, size), done: make(chan struct{})} }
	work := make(chan *batch, workers*2)
	ordered := make(chan *batch, workers*4)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				b.leaves = make([][]byte, len(b.evs))
				for j := range b.evs {
					b.leaves[j] = b.evs[j].Leaf()
				}
				close(b.done)
			}
		}()
	}
	errStopScan := errors.New("stop scan")
	var scanErr error
	go func() {
		defer close(ordered)
		defer close(work)
		cur := newBatch()
		flush := func() {
			work <- cur
			ordered <- cur
			cur = newBatch()
		}
		scanErr = trail.ScanAuditEvents(ctx, 0, 0, func(e *StoredEvent) error {
			if stop.Load() {
				return errStopScan
			}
			cur.evs = append(cur.evs, *e)
			if len(cur.evs) == size {
				flush()
			}
			return nil
		})
		if len(cur.evs) > 0 {
			flush()
		}
	}()
	var visitErr error
	for b := range ordered {
		<-b.done
		if visitErr != nil {
			continue
		}
		for j := range b.evs {
			if err := visit(&b.evs[j], b.leaves[j]); err != nil {
				visitErr = err
				stop.Store(true)
				break
			}
		}
	}
	wg.Wait()
	if visitErr != nil {
		return visitErr
	}
	if scanErr != nil && !errors.Is(scanErr, errStopScan) {
		return scanErr
	}
	return nil
}

func seqKey(p *Problem) int64 {
	if p.Seq < 0 {
		return 1 << 62
	}
	return p.Seq
}

func removedRange(pos int64, e, prev *StoredEvent) string {
	after := ""
	if prev != nil {
		after = fmt.Sprintf(" (after id %s)", prev.ID)
	}
	if e.Seq == pos+1 {
		return fmt.Sprintf("event seq %d was removed%s: the trail jumps from seq %d to seq %d (id %s)", pos, after, pos-1, e.Seq, e.ID)
	}
	return fmt.Sprintf("events seq %d to %d were removed%s: the trail jumps from seq %d to seq %d (id %s)", pos, e.Seq-1, after, pos-1, e.Seq, e.ID)
}

// classify explains the first of the events whose fields do not match their
// recorded leaf hash, using the others: an event whose fields hash, at
// another position, to the hash recorded with it (or recorded there) moved.
func classify(ms []*StoredEvent, prev *StoredEvent) *Problem {
	bySeq := map[int64]*StoredEvent{}
	for _, m := range ms {
		bySeq[m.Seq] = m
	}
	if prev != nil {
		if _, ok := bySeq[prev.Seq]; !ok {
			bySeq[prev.Seq] = prev
		}
	}
	// movedFrom returns the position an event was recorded at, or -1.
	movedFrom := func(e *StoredEvent) int64 {
		cands := []int64{e.Seq - 1, e.Seq + 1}
		for _, m := range ms {
			if m.Seq != e.Seq {
				cands = append(cands, m.Seq)
			}
		}
		for _, q := range cands {
			if q < 0 {
				continue
			}
			moved := *e
			moved.Seq = q
			h := moved.Leaf()
			if bytes.Equal(h, e.LeafHash) {
				return q
			}
			if o, ok := bySeq[q]; ok && o != e && bytes.Equal(h, o.LeafHash) {
				return q
			}
		}
		return -1
	}
	e := ms[0]
	what := fmt.Sprintf("seq %d (id %s, %s at %s)", e.Seq, e.ID, e.Type, e.Time.UTC().Format(time.RFC3339))
	if q := movedFrom(e); q >= 0 {
		o, isMismatch := bySeq[q]
		swapped := isMismatch && o != prev && movedFrom(o) == e.Seq
		switch {
		case swapped:
			return &Problem{Kind: Reordered, Seq: e.Seq, ID: e.ID, Message: fmt.Sprintf(
				"events were reordered: %s was recorded at seq %d, and id %s now at seq %d was recorded at seq %d", what, q, o.ID, q, e.Seq)}
		case q == e.Seq+1:
			return &Problem{Kind: Removed, Seq: e.Seq, ID: e.ID, Message: fmt.Sprintf(
				"the event recorded at seq %d was removed and later events renumbered: the event now at %s was recorded at seq %d",
				e.Seq, what, q)}
		case q == e.Seq-1:
			return &Problem{Kind: Inserted, Seq: q, ID: idAt(bySeq, q), Message: fmt.Sprintf(
				"an event was inserted at seq %d%s and later events renumbered: the event now at %s was recorded at seq %d",
				q, idNote(bySeq, q), what, q)}
		}
		msg := fmt.Sprintf("the event at %s was recorded at seq %d: events were reordered", what, q)
		if o, ok := bySeq[q]; ok && o != e {
			msg = fmt.Sprintf("events were reordered: %s was recorded at seq %d, where id %s now is", what, q, o.ID)
		}
		return &Problem{Kind: Reordered, Seq: e.Seq, ID: e.ID, Message: msg}
	}
	if len(ms) > 1 && ms[1].Seq == e.Seq+1 && movedFrom(ms[1]) == e.Seq {
		return &Problem{Kind: Inserted, Seq: e.Seq, ID: e.ID, Message: fmt.Sprintf(
			"the event at %s was inserted: it was never recorded, and the events after it were renumbered", what)}
	}
	return &Problem{Kind: Changed, Seq: e.Seq, ID: e.ID, Message: fmt.Sprintf(
		"the event at %s was changed: its stored fields no longer match the hash recorded when it was written", what)}
}

func idAt(m map[int64]*StoredEvent, seq int64) string {
	if e, ok := m[seq]; ok {
		return e.ID
	}
	return ""
}

func idNote(m map[int64]*StoredEvent, seq int64) string {
	if id := idAt(m, seq); id != "" {
		return " (id " + id + ")"
	}
	return ""
}

// localize finds, when the recorded leaf hashes were rewritten along with
// the events, the first event that differs from the tree a checkpoint
// signed: the stored nodes under the checkpoint are authenticated against
// its root, then compared with the tree recomputed from the events,
// descending towards the leaves as far as authenticated nodes allow. It
// returns nil when the stored nodes were rewritten as well.
func localize(ctx context.Context, trail Trail, nr NodeReader, cp *Checkpoint, lastGood uint64) *Problem {
	ids := BorderIDs(cp.Size)
	stored, err := nr.AuditNodes(ctx, ids)
	if err != nil {
		return nil
	}
	if root, err := RootOf(cp.Size, append([][]byte(nil), stored...)); err != nil || !bytes.Equal(root, cp.Root) {
		return nil
	}
	const how = "changed, inserted, removed or reordered, with its recorded hash rewritten"
	for i, id := range ids {
		if _, end := id.Coverage(); end <= lastGood {
			continue
		}
		node, auth := id, stored[i]
		for {
			got, err := subtreeRoot(ctx, trail, node)
			if err != nil {
				return nil
			}
			if bytes.Equal(got, auth) {
				break
			}
			begin, end := node.Coverage()
			if node.Level == 0 {
				return &Problem{Kind: Changed, Seq: int64(begin), Message: fmt.Sprintf(
					"event seq %d differs from the signed trail (%s)", begin, how)}
			}
			kids := []NodeID{NewNodeID(node.Level-1, node.Index*2), NewNodeID(node.Level-1, node.Index*2+1)}
			kh, err := nr.AuditNodes(ctx, kids)
			if err != nil || !bytes.Equal(Hasher.HashChildren(kh[0], kh[1]), auth) {
				// The recorded hashes below were rewritten too: the signed
				// tree narrows it down to these events, and no further.
				msg := fmt.Sprintf("an event from seq %d to %d differs from the signed trail (%s)", begin, end-1, how)
				if end-begin == 2 {
					msg = fmt.Sprintf("event seq %d or seq %d differs from the signed trail (%s)", begin, begin+1, how)
				}
				return &Problem{Kind: Changed, Seq: int64(begin), Message: msg}
			}
			lh, err := subtreeRoot(ctx, trail, kids[0])
			if err != nil {
				return nil
			}
			if !bytes.Equal(lh, kh[0]) {
				node, auth = kids[0], kh[0]
			} else {
				node, auth = kids[1], kh[1]
			}
		}
	}
	return nil
}

// NewNodeID returns the ID of a node.
func NewNodeID(level uint, index uint64) NodeID { return NodeID{Level: level, Index: index} }

// subtreeRoot recomputes a perfect subtree from the stored events' fields.
func subtreeRoot(ctx context.Context, trail Trail, id NodeID) ([]byte, error) {
	begin, end := id.Coverage()
	b := ranges.NewEmptyRange(begin)
	n := begin
	err := trail.ScanAuditEvents(ctx, begin, end, func(e *StoredEvent) error {
		if uint64(e.Seq) != n {
			return fmt.Errorf("gap at seq %d", n)
		}
		n++
		return b.Append(e.Leaf(), nil)
	})
	if err != nil {
		return nil, err
	}
	if n != end {
		return nil, fmt.Errorf("events %d to %d are missing", n, end-1)
	}
	h := b.Hashes()
	if len(h) != 1 {
		return nil, fmt.Errorf("subtree %v is not perfect", id)
	}
	return h[0], nil
}
