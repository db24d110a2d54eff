package detect

import (
	"hash/maphash"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/axiomhq/hyperloglog"

	"github.com/mamori-dev/mamori"
)

// Detector is an additional detector (a Sigma rule, for one). Observe sees
// every event in the order fed, with its event number, and reports findings
// to r; it must not keep ev past the call (copy what it needs).
type Detector interface {
	Name() string
	Observe(ev *Event, seq uint64, r Reporter)
}

// Reporter takes findings from a Detector.
type Reporter interface {
	Report(f *Finding)
}

// Options are the engine's collaborators.
type Options struct {
	// Sink receives alerts as they open, grow and end. May be nil.
	Sink Sink
	// Detectors run after the built-in ones.
	Detectors []Detector
	// Clock, when set (live use), caps event times at now plus MaxSkew so
	// that one event dated in the future cannot expire every window.
	Clock   mamori.Clock
	MaxSkew time.Duration
	// Collect keeps finished alerts for Flush to return (replay). A
	// long-running server leaves it off and relies on the Sink.
	Collect bool
}

// Stats counts what the engine has seen.
type Stats struct {
	Events  int `json:"events"`
	Ignored int `json:"ignored"` // events without a time
	Clamped int `json:"clamped"` // events dated in the future (live use)
	Alerts  int `json:"alerts"`
	// SinkErrors counts failed Sink calls; LastSinkError describes the last.
	SinkErrors    int       `json:"sink_errors"`
	LastSinkError string    `json:"last_sink_error,omitempty"`
	First         time.Time `json:"first"`
	Last          time.Time `json:"last"`
	// Distinct sources and accounts seen (HyperLogLog estimates).
	Sources  uint64 `json:"sources"`
	Accounts uint64 `json:"accounts"`
	Failures int    `json:"failures"`
	// AttackAttempts sums the evidence events of finished alerts (merged
	// ones counted once): the KRI "attack attempts".
	AttackAttempts int `json:"attack_attempts"`
}

// Engine runs the detectors over a stream of events. Its methods are safe
// for concurrent use; events should arrive roughly in time order (windows
// use the events' own timestamps, so replay and live use agree).
type Engine struct {
	mu          sync.Mutex
	cfg         Config
	loc         *time.Location
	seed        maphash.Seed
	sink        Sink
	clock       mamori.Clock
	maxSkew     int64
	book        *book
	ring        []Event
	seq         uint64
	watermark   int64
	nextExpire  int64
	stats       Stats
	lastSinkErr error
	srcHLL      *hyperloglog.Sketch
	acctHLL     *hyperloglog.Sketch
	lastOK      *table[uint64, int64] // last successful sign-in per source hash
	builtins    []builtin
	extra       []Detector
	rep         reporter
	o           obs
	fnd         Finding
}

// builtin is a built-in detector; it gets the event with the values every
// detector needs computed once. Per-key tables are keyed by 64-bit hashes
// (seeded per engine, so not predictable from outside): hashing each name
// or address once per event, not once per table, is most of the speed.
type builtin interface {
	observe(o *obs)
}

// obs is one event as the built-in detectors see it.
type obs struct {
	ev   *Event
	ts   int64
	seq  uint64
	acct string // normalized account name
	ah   uint64 // its hash
	src  netip.Addr
	sh   uint64       // hash of src: the key of per-source tables
	net  netip.Prefix // src's subnet (Config.Stuffing prefixes)
	nh   uint64       // its hash
	fail bool
	ok   bool
}

// New returns an engine for cfg, which must be valid.
func New(cfg Config, opts Options) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	loc, _ := time.LoadLocation(cfg.TimeZone)
	e := &Engine{
		cfg: cfg, loc: loc, seed: maphash.MakeSeed(), sink: opts.Sink, clock: opts.Clock,
		maxSkew: int64(opts.MaxSkew), ring: make([]Event, min(1024, cfg.Limits.EvidenceBuffer)),
		// Dense sketches: 16 KiB each, and an insert is one register
		// update (the sparse form re-sorts as it grows).
		srcHLL: hyperloglog.NewNoSparse(), acctHLL: hyperloglog.NewNoSparse(), extra: opts.Detectors,
	}
	if e.maxSkew <= 0 {
		e.maxSkew = int64(5 * time.Minute)
	}
	e.book = newBook(e, cfg.Alerts, opts.Collect)
	keep := max(cfg.Stuffing.Window, 2*cfg.Spraying.Grace)
	e.lastOK = newTable[uint64, int64](cfg.Limits.MaxKeys, int64(keep))
	e.rep = reporter{e}
	e.builtins = append(e.builtins, newWatch(e))
	if cfg.BruteForce.Enabled {
		e.builtins = append(e.builtins, newBruteForce(e))
	}
	if cfg.Stuffing.Enabled {
		e.builtins = append(e.builtins, newStuffing(e))
	}
	if cfg.Spraying.Enabled {
		e.builtins = append(e.builtins, newSpraying(e))
	}
	if cfg.Enumeration.Enabled {
		e.builtins = append(e.builtins, newEnumeration(e))
	}
	return e, nil
}

// Config returns the configuration the engine runs with.
func (e *Engine) Config() Config { return e.cfg }

// Observe feeds one event. Events without a time are counted and ignored.
func (e *Engine) Observe(ev *Event) {
	e.mu.Lock()
	e.observe(ev)
	e.mu.Unlock()
}

// ObserveBatch feeds several events under one lock.
func (e *Engine) ObserveBatch(evs []Event) {
	e.mu.Lock()
	for i := range evs {
		e.observe(&evs[i])
	}
	e.mu.Unlock()
}

func (e *Engine) observe(in *Event) {
	if in.Time.IsZero() {
		e.stats.Ignored++
		return
	}
	e.seq++
	if e.seq == uint64(len(e.ring)) && len(e.ring) < e.cfg.Limits.EvidenceBuffer {
		// Grow the buffer up to its limit before it first wraps, so a
		// short replay does not pay for a large one; before any wrap
		// event n sits at index n in both sizes.
		bigger := make([]Event, min(2*len(e.ring), e.cfg.Limits.EvidenceBuffer))
		copy(bigger, e.ring)
		e.ring = bigger
	}
	ev := &e.ring[e.seq%uint64(len(e.ring))]
	*ev = *in
	ts := ev.Time.UnixNano()
	if e.clock != nil {
		if lim := e.clock().UnixNano() + e.maxSkew; ts > lim {
			ts = lim
			ev.Time = timeOf(ts)
			e.stats.Clamped++
		}
	}
	if e.stats.Events == 0 || ts < e.stats.First.UnixNano() {
		e.stats.First = ev.Time
	}
	e.stats.Events++
	if ts > e.watermark {
		e.watermark = ts
		e.stats.Last = ev.Time
	}
	if e.watermark >= e.nextExpire {
		e.book.expire(e.watermark, false)
		e.nextExpire = e.watermark + int64(time.Minute)
	}
	o := &e.o
	*o = obs{ev: ev, ts: ts, seq: e.seq, src: ev.Source,
		fail: ev.Outcome == OutcomeFailure, ok: ev.Outcome == OutcomeSuccess}
	if ev.User != "" {
		o.acct = e.normalize(ev.User)
		o.ah = maphash.String(e.seed, o.acct)
		e.acctHLL.InsertHash(o.ah)
	}
	if o.src.IsValid() {
		o.sh = e.hashAddr(o.src)
		e.srcHLL.InsertHash(o.sh)
		o.net = subnetOf(o.src, e.cfg.Stuffing.IPv4Prefix, e.cfg.Stuffing.IPv6Prefix)
		o.nh = e.hashAddr(o.net.Addr()) ^ uint64(o.net.Bits())
	}
	if o.fail {
		e.stats.Failures++
	} else if o.ok && o.src.IsValid() && (ev.Action == ActionLogin || ev.Action == ActionMFA) {
		t, _ := e.lastOK.get(o.sh, ts)
		*t = max(*t, ts)
	}
	for _, d := range e.builtins {
		d.observe(o)
	}
	for _, d := range e.extra {
		d.Observe(ev, e.seq, e.rep)
	}
}

// Advance moves event time forward to now without an event, closing
// alerts that can no longer grow. A live server calls it periodically.
func (e *Engine) Advance(now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ts := now.UnixNano(); ts > e.watermark {
		e.watermark = ts
	}
	e.book.expire(e.watermark, false)
}

// Flush finishes every open alert (end of a replay, or shutdown) and
// returns, when the engine collects, every alert it raised, in start order.
func (e *Engine) Flush() []Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.book.expire(e.watermark, true)
	out := e.book.closed
	e.book.closed = nil
	sortAlerts(out)
	return out
}

// Open returns the alerts still open, for a live view.
func (e *Engine) Open() []Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.book.current()
	sortAlerts(out)
	return out
}

// Stats returns the counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stats
	s.Sources = e.srcHLL.Estimate()
	s.Accounts = e.acctHLL.Estimate()
	if e.lastSinkErr != nil {
		s.LastSinkError = e.lastSinkErr.Error()
	}
	return s
}

// succeededSince reports whether the source with hash sh signed in
// successfully at or after t (as far back as the table keeps).
func (e *Engine) succeededSince(sh uint64, t int64) bool {
	last := e.lastOK.peek(sh)
	return last != nil && *last >= t
}

// evidence returns event seq if it is still in the buffer.
func (e *Engine) evidence(seq uint64) *Event {
	if seq == 0 || seq > e.seq || e.seq-seq >= uint64(len(e.ring)) {
		return nil
	}
	return &e.ring[seq%uint64(len(e.ring))]
}

func (e *Engine) normalize(s string) string {
	if e.cfg.CaseSensitiveAccounts {
		return s
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(s)
		}
	}
	return s
}

func (e *Engine) hashString(s string) uint64 { return maphash.String(e.seed, s) }

func (e *Engine) hashAddr(a netip.Addr) uint64 {
	b := a.As16()
	return maphash.Bytes(e.seed, b[:])
}

// report files a finding at the current event's time.
func (e *Engine) report(f *Finding) { e.book.report(f, e.o.ts) }

// finding returns the engine's scratch finding, emptied, with the
// detector's window as its hold.
func (e *Engine) finding(t AlertType, sev Severity, scope Scope, key string) *Finding {
	f := &e.fnd
	f.reset()
	f.Type, f.Severity, f.Scope, f.Key = t, sev, scope, key
	switch t {
	case TypeSpraying:
		f.Hold = e.cfg.Spraying.Window.D()
		if scope == ScopeGlobal {
			f.Hold = e.cfg.Spraying.DistributedWindow.D() / sprayBuckets
		}
	case TypeStuffing:
		f.Hold = e.cfg.Stuffing.Window.D()
	case TypeBruteForce:
		f.Hold = e.cfg.BruteForce.Window.D()
	case TypeEnumeration:
		f.Hold = e.cfg.Enumeration.Window.D()
	}
	return f
}

// sourcesOf returns the distinct sources of the given events still in the
// evidence buffer.
func (e *Engine) sourcesOf(seqs []uint64, dst []netip.Addr) []netip.Addr {
	for _, s := range seqs {
		if ev := e.evidence(s); ev != nil && ev.Source.IsValid() {
			dup := false
			for _, d := range dst {
				if d == ev.Source {
					dup = true
					break
				}
			}
			if !dup {
				dst = append(dst, ev.Source)
			}
		}
	}
	return dst
}

type reporter struct{ e *Engine }

func (r reporter) Report(f *Finding) {
	if f == nil || f.Type == "" {
		return
	}
	r.e.book.report(f, r.e.o.ts)
}

func timeOf(ns int64) time.Time { return time.Unix(0, ns).UTC() }
