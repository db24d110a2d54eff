package detect

import (
	"fmt"
	"net/netip"

	"github.com/axiomhq/hyperloglog"
)

// spraying: few attempts per account across many accounts over hours or
// days. Three views:
//   - per source and per subnet, over the long window;
//   - per password fingerprint (mamori.password_hmac), when present;
//   - distributed: failures that the account's owner never follows with a
//     success ("abandoned") counted over all sources, which is what a slow
//     spray from rotating addresses leaves behind while typos do not.
type spraying struct {
	e       *Engine
	cfg     SprayingConfig
	w       int64
	srcs    *table[uint64, keyState]
	subnets *table[uint64, keyState]
	fps     *table[uint64, keyState]

	fpUntil int64 // the latest alertUntil of any fingerprint

	// distributed
	grace    int64
	lastOK   *table[uint64, int64]  // last success per source
	pending  map[uint64]pendingFail // by account hash
	queue    []queued               // FIFO by first failure time (ring)
	qHead    int
	qLen     int
	buckets  []sprayBucket
	bucketW  int64
	cur      int64 // index (time/bucketW) of the newest bucket
	baseline float64
	warm     int // buckets seen, for the baseline
	until    int64
	sinceEst int
}

type pendingFail struct {
	first int64
	seq   uint64
	src   netip.Addr
	n     uint32
	name  string
	h     uint64
	sh    uint64 // source hash
}

type queued struct {
	acct  uint64
	first int64
}

type sprayBucket struct {
	idx      int64
	orphans  int // abandoned accounts (not distinct across buckets)
	failures int
	accts    *hyperloglog.Sketch
	srcs     *hyperloglog.Sketch
	sample   []orphan
}

type orphan struct {
	seq  uint64
	src  netip.Addr
	name string
}

const sprayBuckets = 12

func newSpraying(e *Engine) *spraying {
	c := e.cfg.Spraying
	w := int64(c.Window)
	m := e.cfg.Limits.MaxKeys
	d := &spraying{e: e, cfg: c, w: w,
		srcs: newKeyTable(m, w), subnets: newKeyTable(m, w), fps: newKeyTable(m, w),
		grace: int64(c.Grace), pending: map[uint64]pendingFail{},
		queue: make([]queued, 1024), bucketW: int64(c.DistributedWindow) / sprayBuckets,
		buckets: make([]sprayBucket, sprayBuckets), cur: -1,
	}
	if d.bucketW <= 0 {
		d.bucketW = 1
	}
	return d
}

func (d *spraying) observe(o *obs) {
	d.drain(o.ts)
	if o.ev.Action != ActionLogin || o.acct == "" || (!o.fail && !o.ok) {
		return
	}
	if o.src.IsValid() {
		if st := keyed(d.srcs, o.sh, single(o.src), o); st != nil {
			d.step(st, ScopeSource, o, d.cfg.SourceAccounts)
		}
		if st := keyed(d.subnets, o.nh, o.net, o); st != nil {
			d.step(st, ScopeSubnet, o, d.cfg.SubnetAccounts)
		}
	}
	// A success is looked up by fingerprint only while some fingerprint
	// is being reported: hashing every success's fingerprint is costly.
	if fp := o.ev.PasswordHMAC; fp != "" && (o.fail || d.fpUntil >= o.ts) {
		var st *keyState
		if o.fail {
			var fresh bool
			st, fresh = d.fps.get(d.e.hashString(fp), o.ts)
			if fresh {
				st.str = fp
			}
		} else {
			st = d.fps.peek(d.e.hashString(fp))
		}
		if st != nil {
			d.step(st, ScopeFingerprint, o, d.cfg.FingerprintAccounts)
			d.fpUntil = max(d.fpUntil, st.alertUntil)
		}
	}
	if o.fail {
		if p, ok := d.pending[o.ah]; ok {
			p.n++
			d.pending[o.ah] = p
		} else {
			if len(d.pending) >= d.e.cfg.Limits.MaxPending {
				d.pop(o.ts, true)
			}
			d.pending[o.ah] = pendingFail{first: o.ts, seq: o.seq, src: o.src, n: 1, name: o.acct, h: o.ah, sh: o.sh}
			d.push(queued{o.ah, o.ts})
		}
	} else {
		delete(d.pending, o.ah)
	}
}

// keyed returns the state for k, created only on a failure: a key that
// never failed is no spray, and most traffic is successes.
func keyed[K comparable](t *table[K, keyState], k K, p netip.Prefix, o *obs) *keyState {
	if !o.fail {
		return t.peek(k)
	}
	st, fresh := t.get(k, o.ts)
	if fresh {
		st.pfx = p
	}
	return st
}

// step handles one keyed view. Only failures are counted; a success from a
// key that is being reported names the account compromised.
func (d *spraying) step(st *keyState, scope Scope, o *obs, n int) {
	if scope != ScopeFingerprint {
		st.sh.add(o.ts, d.w, o.fail)
	}
	if o.ok {
		if alerting(st.alertUntil, o.ts, d.w) {
			f := d.e.finding(TypeSpraying, SeverityCritical, scope, st.key())
			fillObs(f, o)
			f.Compromised = append(f.Compromised, o.acct)
			f.Summary = fmt.Sprintf("Account %s signed in from a password-spraying %s; reset its password.", o.acct, scope)
			d.e.report(f)
		}
		return
	}
	st.set.add(o.ev, o.acct, o.ah, o.ts, d.w, o.seq, n)
	if alerting(st.alertUntil, o.ts, d.w) {
		st.alertUntil = o.ts + d.w
		f := d.e.finding(TypeSpraying, SeverityMedium, scope, st.key())
		fillObs(f, o)
		d.e.report(f)
		return
	}
	if len(st.set.items) < n {
		return
	}
	var c, attempts int
	for i := range st.set.items {
		if it := &st.set.items[i]; near(o.ts, it.last, d.w) {
			c++
			attempts += int(it.attempts)
		}
	}
	if c < n || float64(attempts)/float64(c) > d.cfg.MaxAttemptsPerAccount {
		return
	}
	if scope != ScopeFingerprint && st.sh.failureShare() < d.cfg.MinFailureShare {
		return
	}
	// A source already reported for stuffing or brute force is the same
	// attack seen faster; do not report it twice.
	if scope != ScopeFingerprint && (d.e.book.hasOpen(TypeStuffing, o.src, o.ts) || d.e.book.hasOpen(TypeBruteForce, o.src, o.ts)) {
		return
	}
	st.alertUntil = o.ts + d.w
	f := d.e.finding(TypeSpraying, SeverityHigh, scope, st.key())
	for i := range st.set.items {
		if it := &st.set.items[i]; near(o.ts, it.last, d.w) {
			f.Events = append(f.Events, it.seq)
			f.Accounts = append(f.Accounts, it.name)
		}
	}
	f.Sources = d.e.sourcesOf(f.Events, f.Sources)
	avg := float64(attempts) / float64(c)
	if scope == ScopeFingerprint {
		f.Summary = fmt.Sprintf("The same password was tried on %d different accounts within %s (%.1f attempts per account) from %d sources.", c, fmtDur(d.w), avg, len(f.Sources))
	} else {
		f.Summary = fmt.Sprintf("%s %s failed on %d different accounts within %s, %.1f attempts per account: password spraying.", scope, st.key(), c, fmtDur(d.w), avg)
	}
	d.e.report(f)
}

func (d *spraying) push(q queued) {
	if d.qLen == len(d.queue) {
		nq := make([]queued, 2*len(d.queue))
		for i := 0; i < d.qLen; i++ {
			nq[i] = d.queue[(d.qHead+i)%len(d.queue)]
		}
		d.queue, d.qHead = nq, 0
	}
	d.queue[(d.qHead+d.qLen)%len(d.queue)] = q
	d.qLen++
}

// drain decides the failures whose grace has passed.
func (d *spraying) drain(now int64) {
	for d.qLen > 0 && d.queue[d.qHead].first+d.grace <= now {
		d.pop(now, false)
	}
}

func (d *spraying) pop(now int64, forced bool) {
	if d.qLen == 0 {
		return
	}
	q := d.queue[d.qHead]
	d.queue[d.qHead] = queued{}
	d.qHead = (d.qHead + 1) % len(d.queue)
	d.qLen--
	p, ok := d.pending[q.acct]
	if !ok || p.first != q.first {
		return // succeeded since, or a newer pending entry for the account
	}
	delete(d.pending, q.acct)
	if forced && now-p.first < d.grace {
		return // memory pressure: drop undecided failures rather than guess
	}
	// A success from the same address since the failure (a user who
	// mistyped the account name, then got it right) resolves it.
	if p.src.IsValid() && d.e.succeededSince(p.sh, p.first) {
		return
	}
	d.abandoned(p, now)
}

func (d *spraying) bucket(t int64) *sprayBucket {
	idx := t / d.bucketW
	if idx > d.cur {
		for i := max(d.cur+1, idx-sprayBuckets+1); i <= idx; i++ {
			b := &d.buckets[i%sprayBuckets]
			// The bucket leaving the window feeds the baseline, unless it
			// was part of an attack being reported.
			if d.cur >= 0 && b.idx == i-sprayBuckets && d.until < t {
				d.baseline = 0.95*d.baseline + 0.05*float64(b.orphans)
				d.warm++
			}
			*b = sprayBucket{idx: i, sample: b.sample[:0]}
		}
		d.cur = idx
	}
	b := &d.buckets[idx%sprayBuckets]
	if b.idx != idx {
		return nil // older than the window
	}
	return b
}

func (d *spraying) abandoned(p pendingFail, now int64) {
	// Failures from a source already reported (stuffing, brute force, a
	// spray from that source) are that attack; global alerts are not
	// indexed by source, so this never excludes the distributed spray.
	if p.src.IsValid() && (d.e.book.hasOpen(TypeStuffing, p.src, now) || d.e.book.hasOpen(TypeBruteForce, p.src, now) ||
		d.e.book.hasOpen(TypeSpraying, p.src, now)) {
		return
	}
	b := d.bucket(p.first)
	if b == nil {
		return
	}
	if b.accts == nil {
		b.accts, b.srcs = hyperloglog.New14(), hyperloglog.New14()
	}
	b.orphans++
	b.failures += int(p.n)
	b.accts.InsertHash(p.h)
	if p.src.IsValid() {
		b.srcs.InsertHash(d.e.hashAddr(p.src))
	}
	perBucket := max(d.e.cfg.Alerts.MaxEvidence/sprayBuckets, 8)
	if len(b.sample) < perBucket {
		b.sample = append(b.sample, orphan{seq: p.seq, src: p.src, name: p.name})
	}
	if alerting(d.until, now, d.bucketW) {
		d.until = now + d.bucketW
		f := d.e.finding(TypeSpraying, SeverityHigh, ScopeGlobal, "distributed")
		f.Events = append(f.Events, p.seq)
		if p.src.IsValid() {
			f.Sources = append(f.Sources, p.src)
		}
		f.Accounts = append(f.Accounts, p.name)
		d.e.book.report(f, now)
		return
	}
	orphans, failures := 0, 0
	for i := range d.buckets {
		if bb := &d.buckets[i]; bb.idx > d.cur-sprayBuckets && bb.idx <= d.cur {
			orphans += bb.orphans
			failures += bb.failures
		}
	}
	need := float64(d.cfg.DistributedAccounts)
	if d.warm >= sprayBuckets {
		need = max(need, d.cfg.BaselineFactor*d.baseline*sprayBuckets)
	}
	if float64(orphans) < need {
		return
	}
	// The exact count above may count an account once per bucket; confirm
	// with the distinct estimate, which is costlier, only now.
	d.sinceEst++
	if d.sinceEst%4 != 1 {
		return
	}
	union := hyperloglog.New14()
	srcs := hyperloglog.New14()
	for i := range d.buckets {
		if bb := &d.buckets[i]; bb.idx > d.cur-sprayBuckets && bb.accts != nil {
			_ = union.Merge(bb.accts)
			_ = srcs.Merge(bb.srcs)
		}
	}
	distinct := float64(union.Estimate())
	if distinct < need || float64(failures)/distinct > d.cfg.MaxAttemptsPerAccount {
		return
	}
	d.sinceEst = 0
	d.until = now + d.bucketW
	f := d.e.finding(TypeSpraying, SeverityHigh, ScopeGlobal, "distributed")
	for i := range d.buckets {
		if bb := &d.buckets[i]; bb.idx > d.cur-sprayBuckets {
			for _, s := range bb.sample {
				f.Events = append(f.Events, s.seq)
				if s.src.IsValid() {
					f.Sources = append(f.Sources, s.src)
				}
				f.Accounts = append(f.Accounts, s.name)
			}
		}
	}
	f.Summary = fmt.Sprintf("About %.0f accounts had failed sign-ins never followed by a success within %s, from about %d sources, %.1f attempts per account: a distributed password spray.",
		distinct, fmtDur(int64(d.cfg.DistributedWindow)), srcs.Estimate(), float64(failures)/distinct)
	d.e.book.report(f, now)
}
