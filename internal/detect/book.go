package detect

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"net/netip"
	"slices"
	"strings"

	"github.com/axiomhq/hyperloglog"

	"github.com/mamori-dev/mamori"
)

// book turns findings into alerts: one attack, one alert. A finding joins
// an open alert of the same type that has its key, or shares a source, or
// (for account-scoped findings) its account, as long as the alert saw an
// event within the merge gap and is younger than the maximum span.
type book struct {
	cfg    AlertConfig
	e      *Engine
	open   []*building
	byKey  map[bookKey]*building
	bySrc  map[srcKey]*building
	byAcct map[acctKey]*building
	byNet  map[srcKey]*building // by the subnet address of each source
	v4, v6 int
	closed []Alert // finished alerts, kept when collecting (replay)
	keep   bool
}

type bookKey struct {
	t     AlertType
	scope Scope
	key   string
}

// srcKey and acctKey index open alerts by type and rule (so that two
// Sigma rules never merge) and by one source, subnet or account.
type srcKey struct {
	t    AlertType
	rule string
	a    netip.Addr
}

type acctKey struct {
	t    AlertType
	rule string
	a    string
}

type building struct {
	a        Alert
	start    int64
	end      int64
	srcs     map[netip.Addr]struct{}
	accts    map[string]struct{}
	srcHLL   *hyperloglog.Sketch
	acctHLL  *hyperloglog.Sketch
	seen     map[uint64]struct{} // evidence already hashed
	maxSeq   uint64
	digest   hash.Hash
	emitted  int // Events at the last emit
	keys     []bookKey
	compSet  map[string]struct{}
	finished bool
	gap      int64 // merge gap: the larger of the configured one and the detector's hold
}

func newBook(e *Engine, cfg AlertConfig, keep bool) *book {
	return &book{cfg: cfg, e: e, byKey: map[bookKey]*building{}, bySrc: map[srcKey]*building{},
		byAcct: map[acctKey]*building{}, byNet: map[srcKey]*building{}, keep: keep,
		v4: e.cfg.Stuffing.IPv4Prefix, v6: e.cfg.Stuffing.IPv6Prefix}
}

func (b *book) netKey(t AlertType, rule string, a netip.Addr) srcKey {
	return srcKey{t, rule, subnetOf(a, b.v4, b.v6).Addr()}
}

// live reports whether x can take a finding at now: within its gap of the
// alert's span on either side (events may arrive out of order) and without
// stretching it past the maximum span.
func (b *book) live(x *building, now int64) bool {
	if x == nil || x.finished || now > x.end+x.gap || now < x.start-x.gap {
		return false
	}
	return max(x.end, now)-min(x.start, now) <= int64(b.cfg.MaxSpan)
}

// report merges f, seen at event time now, into an alert.
func (b *book) report(f *Finding, now int64) {
	k := bookKey{f.Type, f.Scope, f.Key}
	x := b.byKey[k]
	if !b.live(x, now) {
		x = nil
		// A global finding (distributed spraying) joins only its own
		// alert: it spans sources that other alerts are about.
		for _, s := range f.Sources {
			if f.Scope == ScopeGlobal {
				break
			}
			if y := b.bySrc[srcKey{f.Type, f.Rule, s}]; b.live(y, now) {
				x = y
				break
			}
			if y := b.byNet[b.netKey(f.Type, f.Rule, s)]; b.live(y, now) {
				x = y
				break
			}
		}
		if x == nil && f.Scope == ScopeAccount {
			for _, a := range f.Accounts {
				if y := b.byAcct[acctKey{f.Type, f.Rule, a}]; b.live(y, now) {
					x = y
					break
				}
			}
		}
		if x == nil {
			x = b.newAlert(f, now)
		}
		b.byKey[k] = x
		x.keys = append(x.keys, k)
	}
	b.merge(x, f, now)
}

func (b *book) newAlert(f *Finding, now int64) *building {
	x := &building{
		a: Alert{ID: mamori.NewID(), Type: f.Type, Severity: f.Severity, Status: StatusNew,
			Scope: f.Scope, Key: f.Key, Summary: f.Summary, Rule: f.Rule},
		start: now, end: now, gap: max(int64(b.cfg.MergeGap), int64(f.Hold)),
		srcs: map[netip.Addr]struct{}{}, accts: map[string]struct{}{}, seen: map[uint64]struct{}{},
		digest: sha256.New(),
	}
	if x.a.Summary == "" {
		x.a.Summary = fmt.Sprintf("%s from %s %s (continued).", f.Type, f.Scope, f.Key)
	}
	b.open = append(b.open, x)
	b.e.stats.Alerts++
	return x
}

func (b *book) merge(x *building, f *Finding, now int64) {
	x.gap = max(x.gap, int64(f.Hold))
	if now > x.end {
		x.end = now
	}
	if now < x.start {
		x.start = now
	}
	if f.Severity > x.a.Severity {
		x.a.Severity = f.Severity
		if f.Summary != "" {
			x.a.Summary = f.Summary
		}
	}
	for _, s := range f.Sources {
		if !s.IsValid() {
			continue
		}
		if _, ok := x.srcs[s]; ok {
			continue
		}
		global := x.a.Scope == ScopeGlobal
		if y := b.bySrc[srcKey{x.a.Type, x.a.Rule, s}]; !global && y != x && b.live(y, now) && y.a.Scope != ScopeGlobal {
			// Another open alert of this type has this source: the
			// same attack, seen in parts. Fold it in.
			b.absorb(x, y, now)
			continue
		}
		if len(x.srcs) < b.cfg.MaxSources {
			x.srcs[s] = struct{}{}
			if !global {
				b.bySrc[srcKey{x.a.Type, x.a.Rule, s}] = x
				b.byNet[b.netKey(x.a.Type, x.a.Rule, s)] = x
			}
		} else {
			if x.srcHLL == nil {
				x.srcHLL = hyperloglog.New14()
			}
			x.srcHLL.InsertHash(b.e.hashAddr(s))
		}
	}
	for _, a := range f.Accounts {
		if a == "" {
			continue
		}
		if _, ok := x.accts[a]; ok {
			continue
		}
		if len(x.accts) < b.cfg.MaxAccounts {
			x.accts[a] = struct{}{}
			if x.a.Scope != ScopeGlobal {
				b.byAcct[acctKey{x.a.Type, x.a.Rule, a}] = x
			}
		} else {
			if x.acctHLL == nil {
				x.acctHLL = hyperloglog.New14()
			}
			x.acctHLL.InsertHash(b.e.hashString(a))
		}
	}
	for _, c := range f.Compromised {
		if x.compSet == nil {
			x.compSet = map[string]struct{}{}
		}
		if _, ok := x.compSet[c]; !ok && len(x.compSet) < b.cfg.MaxAccounts {
			x.compSet[c] = struct{}{}
			x.a.Compromised = append(x.a.Compromised, c)
		}
	}
	for _, seq := range f.Events {
		if _, dup := x.seen[seq]; dup {
			continue
		}
		tracking := len(x.seen) < b.cfg.MaxEvidence
		if !tracking && seq <= x.maxSeq {
			continue // past the cap an older event may have been counted: never count twice
		}
		x.a.Events++
		x.maxSeq = max(x.maxSeq, seq)
		if !tracking {
			continue
		}
		x.seen[seq] = struct{}{}
		if ev := b.e.evidence(seq); ev != nil {
			h := ev.Hash()
			x.digest.Write(h[:])
			x.a.Evidence = append(x.a.Evidence, hex.EncodeToString(h[:]))
		}
	}
	if x.a.Events >= 2*x.emitted && x.a.Events > 0 {
		b.emit(x)
	}
}

// absorb merges alert y into x and finishes y as merged into x.
func (b *book) absorb(x, y *building, now int64) {
	f := &Finding{Type: x.a.Type, Severity: y.a.Severity}
	for s := range y.srcs {
		f.Sources = append(f.Sources, s)
	}
	for a := range y.accts {
		f.Accounts = append(f.Accounts, a)
	}
	f.Compromised = y.a.Compromised
	for seq := range y.seen {
		f.Events = append(f.Events, seq)
	}
	slices.Sort(f.Events)
	extra := y.a.Events - len(y.seen) // counted past the hashed ones
	b.finishMerged(y, x)
	x.start = min(x.start, y.start)
	b.merge(x, f, max(now, y.end))
	x.a.Events += max(extra, 0)
	for _, k := range y.keys {
		b.byKey[k] = x
		x.keys = append(x.keys, k)
	}
}

func (b *book) finishMerged(y, into *building) {
	y.a.MergedInto = into.a.ID
	b.finish(y)
	b.e.stats.Alerts--
}

func (b *book) snapshot(x *building) Alert {
	a := x.a
	a.Start = timeOf(x.start)
	a.End = timeOf(x.end)
	a.Sources = make([]netip.Addr, 0, len(x.srcs))
	for s := range x.srcs {
		a.Sources = append(a.Sources, s)
	}
	slices.SortFunc(a.Sources, func(p, q netip.Addr) int { return p.Compare(q) })
	a.SourceCount = len(a.Sources)
	if x.srcHLL != nil {
		a.SourceCount += int(x.srcHLL.Estimate())
	}
	a.Accounts = make([]string, 0, len(x.accts))
	for s := range x.accts {
		a.Accounts = append(a.Accounts, s)
	}
	slices.Sort(a.Accounts)
	a.AccountCount = len(a.Accounts)
	if x.acctHLL != nil {
		a.AccountCount += int(x.acctHLL.Estimate())
	}
	a.Compromised = slices.Clone(a.Compromised)
	slices.Sort(a.Compromised)
	a.Evidence = slices.Clone(a.Evidence)
	a.EvidenceDigest = hex.EncodeToString(x.digest.Sum(nil))
	return a
}

func (b *book) emit(x *building) {
	x.emitted = x.a.Events
	if b.e.sink == nil {
		return
	}
	if err := b.e.sink.Alert(b.snapshot(x)); err != nil {
		b.e.stats.SinkErrors++
		b.e.lastSinkErr = err
	}
}

// expire finishes alerts that can no longer be extended at now.
func (b *book) expire(now int64, all bool) {
	k := 0
	for _, x := range b.open {
		if x.finished { // merged into another
			continue
		}
		if !all && b.live(x, now) {
			b.open[k] = x
			k++
			continue
		}
		b.finish(x)
	}
	clear(b.open[k:])
	b.open = b.open[:k]
}

func (b *book) finish(x *building) {
	x.finished = true
	x.a.Final = true
	for _, k := range x.keys {
		if b.byKey[k] == x {
			delete(b.byKey, k)
		}
	}
	for s := range x.srcs {
		if b.bySrc[srcKey{x.a.Type, x.a.Rule, s}] == x {
			delete(b.bySrc, srcKey{x.a.Type, x.a.Rule, s})
		}
	}
	for a := range x.accts {
		if b.byAcct[acctKey{x.a.Type, x.a.Rule, a}] == x {
			delete(b.byAcct, acctKey{x.a.Type, x.a.Rule, a})
		}
	}
	for s := range x.srcs {
		if k := b.netKey(x.a.Type, x.a.Rule, s); b.byNet[k] == x {
			delete(b.byNet, k)
		}
	}
	b.emit(x)
	if x.a.MergedInto == "" {
		b.e.stats.AttackAttempts += x.a.Events
	}
	if b.keep && x.a.MergedInto == "" {
		b.closed = append(b.closed, b.snapshot(x))
	}
}

// hasOpen reports whether src is in a live alert of type t.
func (b *book) hasOpen(t AlertType, src netip.Addr, now int64) bool {
	return b.live(b.bySrc[srcKey{t, "", src}], now)
}

// current returns snapshots of the open alerts.
func (b *book) current() []Alert {
	out := make([]Alert, 0, len(b.open))
	for _, x := range b.open {
		out = append(out, b.snapshot(x))
	}
	return out
}

// sortAlerts orders alerts by start, then type and key, for stable output.
func sortAlerts(as []Alert) {
	slices.SortStableFunc(as, func(p, q Alert) int {
		if c := p.Start.Compare(q.Start); c != 0 {
			return c
		}
		if c := strings.Compare(string(p.Type), string(q.Type)); c != 0 {
			return c
		}
		return strings.Compare(p.Key, q.Key)
	})
}
