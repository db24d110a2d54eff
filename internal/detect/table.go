package detect

// table is a bounded map from keys to per-key detector state, least
// recently used first out. Values live inline in one slice so that a
// million keys cost one allocation, not a million; the pointer get returns
// is valid only until the next call that may insert.
type table[K comparable, V any] struct {
	index      map[K]int32
	nodes      []node[K, V]
	head, tail int32 // head is the most recently used; -1 when empty
	free       int32 // free list through next
	max        int
	ttl        int64
	// reset, when set, empties a value for reuse, keeping its buffers.
	reset func(*V)
}

type node[K comparable, V any] struct {
	key        K
	val        V
	last       int64
	prev, next int32
}

func newTable[K comparable, V any](max int, ttl int64) *table[K, V] {
	return &table[K, V]{index: make(map[K]int32), head: -1, tail: -1, free: -1, max: max, ttl: ttl}
}

func (t *table[K, V]) len() int { return len(t.index) }

// get returns the state of k, creating a zero one if needed; fresh tells
// whether it was created. It marks k as used at now.
func (t *table[K, V]) get(k K, now int64) (v *V, fresh bool) {
	if i, ok := t.index[k]; ok {
		n := &t.nodes[i]
		n.last = now
		t.moveToHead(i)
		return &n.val, false
	}
	t.expire(now)
	if len(t.index) >= t.max {
		t.evict(t.tail)
	}
	var i int32
	if t.free >= 0 {
		i = t.free // emptied when it was evicted
		t.free = t.nodes[i].next
	} else {
		t.nodes = append(t.nodes, node[K, V]{})
		i = int32(len(t.nodes) - 1)
	}
	n := &t.nodes[i]
	n.key, n.last, n.prev, n.next = k, now, -1, t.head
	if t.head >= 0 {
		t.nodes[t.head].prev = i
	}
	t.head = i
	if t.tail < 0 {
		t.tail = i
	}
	t.index[k] = i
	return &n.val, true
}

// peek returns the state of k without creating or touching it.
func (t *table[K, V]) peek(k K) *V {
	if i, ok := t.index[k]; ok {
		return &t.nodes[i].val
	}
	return nil
}

// expire drops keys idle longer than the table's TTL, oldest first; the
// cost is paid by the insert that calls it, one removal per stale key.
func (t *table[K, V]) expire(now int64) {
	for t.tail >= 0 && now-t.nodes[t.tail].last > t.ttl {
		t.evict(t.tail)
	}
}

func (t *table[K, V]) evict(i int32) {
	n := &t.nodes[i]
	t.unlink(i)
	delete(t.index, n.key)
	var zk K
	n.key = zk
	if t.reset != nil {
		t.reset(&n.val)
	} else {
		var zv V
		n.val = zv // let the GC reclaim what the state pointed to
	}
	n.next = t.free
	t.free = i
}

func (t *table[K, V]) unlink(i int32) {
	n := &t.nodes[i]
	if n.prev >= 0 {
		t.nodes[n.prev].next = n.next
	} else {
		t.head = n.next
	}
	if n.next >= 0 {
		t.nodes[n.next].prev = n.prev
	} else {
		t.tail = n.prev
	}
	n.prev, n.next = -1, -1
}

func (t *table[K, V]) moveToHead(i int32) {
	if t.head == i {
		return
	}
	t.unlink(i)
	n := &t.nodes[i]
	n.next = t.head
	if t.head >= 0 {
		t.nodes[t.head].prev = i
	}
	t.head = i
	if t.tail < 0 {
		t.tail = i
	}
}

// each calls fn for every key, most recent first.
func (t *table[K, V]) each(fn func(k K, v *V)) {
	for i := t.head; i >= 0; i = t.nodes[i].next {
		fn(t.nodes[i].key, &t.nodes[i].val)
	}
}

// hits is an exact sliding-window counter that keeps the times and event
// numbers of the last n hits: "n hits within w" is true when the oldest of
// the last n is within w. Memory is 16 bytes per slot of the threshold.
type hits struct {
	t    []int64
	seq  []uint64
	next int
	full bool
}

func (h *hits) add(now int64, seq uint64, n int) {
	if h.t == nil {
		// Grow lazily: most keys never see a second hit.
		h.t = make([]int64, 0, 2)
		h.seq = make([]uint64, 0, 2)
	}
	if !h.full {
		h.t = append(h.t, now)
		h.seq = append(h.seq, seq)
		if len(h.t) == n {
			h.full = true
			h.next = 0
		}
		return
	}
	h.t[h.next] = now
	h.seq[h.next] = seq
	h.next = (h.next + 1) % n
}

// reached reports whether the last n hits, now included, span at most w.
// It looks at all n (not just the oldest) because events may come out of
// order; n is a threshold, so this is a handful of comparisons.
func (h *hits) reached(now, w int64, n int) bool {
	if len(h.t) < n {
		return false
	}
	lo, hi := now, now
	for _, t := range h.t {
		lo, hi = min(lo, t), max(hi, t)
	}
	return hi-lo <= w
}

// within returns the event numbers of the kept hits within w of now.
func (h *hits) within(now, w int64) []uint64 {
	var out []uint64
	for i, t := range h.t {
		if d := now - t; d <= w && d >= -w {
			out = append(out, h.seq[i])
		}
	}
	return out
}

// share is a two-bucket counter of attempts and failures. Each bucket
// spans the whole window, so the pair always covers at least the window
// (up to twice it): the ratio never rests on a handful of fresh attempts
// while the caller's account set still holds the window's accounts.
type share struct {
	start        int64
	prevA, prevF uint32
	curA, curF   uint32
}

func (s *share) add(now, w int64, failed bool) {
	half := w
	if half <= 0 {
		half = 1
	}
	switch d := now - s.start; {
	case d >= 2*half || d < 0:
		s.prevA, s.prevF, s.curA, s.curF = 0, 0, 0, 0
		s.start = now - now%half
	case d >= half:
		s.prevA, s.prevF, s.curA, s.curF = s.curA, s.curF, 0, 0
		s.start += half
	}
	s.curA++
	if failed {
		s.curF++
	}
}

func (s *share) failureShare() float64 {
	a := s.prevA + s.curA
	if a == 0 {
		return 0
	}
	return float64(s.prevF+s.curF) / float64(a)
}

// accountSet keeps the distinct accounts a key tried within a window, up to
// a cap (the threshold): exact where it matters, bounded always.
type accountSet struct {
	items []accountHit
}

type accountHit struct {
	h        uint64 // hash of the account name
	name     string
	first    int64
	last     int64
	seq      uint64 // first event on this account
	attempts uint32
	failed   bool
	success  bool // a success on this account from this key
	unknown  bool // the account does not exist
}

// add records an attempt and returns the entry. When the set is at its cap
// it first drops entries older than w; if still full, the new account is
// not stored (ok is false) — the caller has already reached its threshold.
func (s *accountSet) add(ev *Event, name string, h uint64, now, w int64, seq uint64, capacity int) (e *accountHit, ok bool) {
	for i := range s.items {
		it := &s.items[i]
		if it.h == h && it.name == name {
			if now-it.last > w { // stale: start over
				*it = accountHit{h: h, name: name, first: now, seq: seq}
			}
			it.last = now
			it.attempts++
			s.mark(it, ev)
			return it, true
		}
	}
	if len(s.items) >= capacity {
		s.prune(now, w)
		if len(s.items) >= capacity {
			return nil, false
		}
	}
	s.items = append(s.items, accountHit{h: h, name: name, first: now, last: now, seq: seq, attempts: 1})
	it := &s.items[len(s.items)-1]
	s.mark(it, ev)
	return it, true
}

func (s *accountSet) mark(it *accountHit, ev *Event) {
	if ev.Outcome == OutcomeSuccess {
		it.success = true
	} else if ev.Outcome == OutcomeFailure {
		it.failed = true
		if ev.Reason == ReasonUnknownUser {
			it.unknown = true
		}
	}
}

func (s *accountSet) prune(now, w int64) {
	k := 0
	for _, it := range s.items {
		if now-it.last <= w {
			s.items[k] = it
			k++
		}
	}
	clear(s.items[k:])
	s.items = s.items[:k]
}

// count returns the distinct accounts within w matching keep.
func (s *accountSet) count(now, w int64, keep func(*accountHit) bool) int {
	n := 0
	for i := range s.items {
		if near(now, s.items[i].last, w) && (keep == nil || keep(&s.items[i])) {
			n++
		}
	}
	return n
}

// alerting reports whether an event at ts belongs to the attack a detector
// is reporting until until (its last event plus w): not after until, and
// not long before it either, as events may come out of order.
func alerting(until, ts, w int64) bool {
	return until >= ts && ts >= until-3*w
}

// near reports whether t is within w of now on either side.
func near(now, t, w int64) bool {
	d := now - t
	return d <= w && d >= -w
}
