package detect

import (
	"fmt"
	"net/netip"
)

// keyState is the per-key state of the detectors that count distinct
// accounts per source, subnet, user agent or password fingerprint.
type keyState struct {
	set        accountSet
	sh         share
	alertUntil int64
	probe      bool // the current report is a fast probe, not full stuffing
	// The key: an address or prefix, or a string (user agent,
	// fingerprint); its text form is made only when an alert needs it.
	pfx  netip.Prefix
	str  string
	text string
}

// key returns the key's text, made once.
func (st *keyState) key() string {
	if st.text == "" {
		switch {
		case st.str != "":
			st.text = st.str
		case st.pfx.IsSingleIP():
			st.text = st.pfx.Addr().String()
		case st.pfx.IsValid():
			st.text = st.pfx.String()
		}
	}
	return st.text
}

// resetKeyState empties a key's state for reuse, keeping its set's buffer.
func resetKeyState(st *keyState) {
	items := st.set.items
	if cap(items) > 8 {
		items = nil // a large set was an attack's; do not keep its memory for every key
	}
	clear(items) // past len, entries were cleared when pruned
	*st = keyState{set: accountSet{items: items[:0]}}
}

func newKeyTable(max int, ttl int64) *table[uint64, keyState] {
	t := newTable[uint64, keyState](max, ttl)
	t.reset = resetKeyState
	return t
}

func single(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, a.BitLen()) }

// stuffing: one source, subnet or user agent trying many distinct accounts
// in a short window, mostly failing. A high share of unknown accounts makes
// it high; a success among them names the account compromised. A fast
// probe of a few accounts from one source, all failing, is reported too.
type stuffing struct {
	e       *Engine
	cfg     StuffingConfig
	w, bw   int64
	srcs    *table[uint64, keyState]
	subnets *table[uint64, keyState]
	uas     *table[uint64, keyState]
}

func newStuffing(e *Engine) *stuffing {
	c := e.cfg.Stuffing
	w := int64(c.Window)
	m := e.cfg.Limits.MaxKeys
	return &stuffing{e: e, cfg: c, w: w, bw: int64(c.BurstWindow),
		srcs: newKeyTable(m, w), subnets: newKeyTable(m, w), uas: newKeyTable(m, w)}
}

func (d *stuffing) observe(o *obs) {
	if o.ev.Action != ActionLogin || o.acct == "" || (!o.fail && !o.ok) {
		return
	}
	// Keys are made by failures; a success only updates a key that
	// exists (most traffic is successes, and a key that never failed is
	// no attack).
	if o.src.IsValid() {
		if st := keyed(d.srcs, o.sh, single(o.src), o); st != nil {
			d.step(st, ScopeSource, o, d.cfg.SourceAccounts, true)
		}
		if st := keyed(d.subnets, o.nh, o.net, o); st != nil {
			d.step(st, ScopeSubnet, o, d.cfg.SubnetAccounts, false)
		}
	}
	if ua := o.ev.UserAgent; ua != "" {
		if st := keyed(d.uas, d.e.hashString(ua), netip.Prefix{}, o); st != nil {
			st.str = ua
			d.step(st, ScopeUserAgent, o, d.cfg.UserAgentAccounts, false)
		}
	}
}

func subnetOf(a netip.Addr, v4, v6 int) netip.Prefix {
	bits := v6
	if a.Is4() {
		bits = v4
	}
	p, _ := a.Prefix(bits)
	return p
}

func (d *stuffing) step(st *keyState, scope Scope, o *obs, n int, burst bool) {
	st.sh.add(o.ts, d.w, o.fail)
	// Successes are remembered only where failures are: a key with no
	// failure is no attack, and most traffic is successes.
	if o.fail || len(st.set.items) > 0 {
		st.set.add(o.ev, o.acct, o.ah, o.ts, d.w, o.seq, max(n, d.cfg.BurstAccounts))
	}
	if alerting(st.alertUntil, o.ts, d.w) {
		f := d.e.finding(TypeStuffing, SeverityMedium, scope, st.key())
		if st.probe {
			// Still the probe: extend it briefly; a success here is not
			// evidence of a stolen password.
			st.alertUntil = o.ts + d.bw
			f.Severity = SeverityLow
			fillObs(f, o)
			d.e.report(f)
			if len(st.set.items) < n || st.set.count(o.ts, d.w, nil) < n {
				return
			}
			// …unless it has grown into full stuffing: fall through.
		} else {
			st.alertUntil = o.ts + d.w
			fillObs(f, o)
			if o.ok {
				f.Severity = SeverityCritical
				f.Compromised = append(f.Compromised, o.acct)
				f.Summary = fmt.Sprintf("Account %s signed in from %s %s during credential stuffing; reset its password.", o.acct, scope, st.key())
			}
			d.e.report(f)
			return
		}
	}
	if len(st.set.items) >= n {
		if c := st.set.count(o.ts, d.w, nil); c >= n && st.sh.failureShare() >= d.cfg.MinFailureShare {
			d.raise(st, scope, o, c)
			return
		}
	}
	// A fast probe: several account names tried within seconds, none
	// succeeding, at least one that does not exist, from an address with
	// no recent success (a shared NAT has plenty).
	if burst && o.fail && !d.e.succeededSince(o.sh, o.ts-d.w) {
		probe := func(it *accountHit) bool { return it.failed && !it.success }
		unknown := func(it *accountHit) bool { return it.unknown && !it.success }
		if c := st.set.count(o.ts, d.bw, probe); c >= d.cfg.BurstAccounts && st.set.count(o.ts, d.bw, unknown) > 0 {
			st.alertUntil = o.ts + d.bw
			st.probe = true
			f := d.e.finding(TypeStuffing, SeverityLow, scope, st.key())
			for i := range st.set.items {
				it := &st.set.items[i]
				if near(o.ts, it.last, d.bw) && probe(it) {
					f.Events = append(f.Events, it.seq)
					f.Accounts = append(f.Accounts, it.name)
				}
			}
			f.Events = appendSeq(f.Events, o.seq)
			f.Sources = append(f.Sources, o.src)
			f.Summary = fmt.Sprintf("%s failed on %d different accounts within %s with no success: a fast probe.", st.key(), c, fmtDur(d.bw))
			d.e.report(f)
		}
	}
}

func (d *stuffing) raise(st *keyState, scope Scope, o *obs, c int) {
	st.alertUntil = o.ts + d.w
	st.probe = false
	f := d.e.finding(TypeStuffing, SeverityMedium, scope, st.key())
	unknown, failed := 0, 0
	for i := range st.set.items {
		it := &st.set.items[i]
		if !near(o.ts, it.last, d.w) {
			continue
		}
		f.Events = append(f.Events, it.seq)
		f.Accounts = append(f.Accounts, it.name)
		if it.unknown {
			unknown++
		}
		if it.failed {
			failed++
		}
	}
	for i := range st.set.items {
		if it := &st.set.items[i]; it.success && failed > 0 && near(o.ts, it.last, d.w) {
			f.Compromised = append(f.Compromised, it.name)
		}
	}
	f.Events = appendSeq(f.Events, o.seq)
	f.Sources = d.e.sourcesOf(f.Events, f.Sources)
	us := float64(unknown) / float64(c)
	f.Summary = fmt.Sprintf("%s %s tried %d different accounts within %s (%.0f%% unknown).", scope, st.key(), c, fmtDur(d.w), 100*us)
	if us >= d.cfg.UnknownShare {
		f.Severity = SeverityHigh
	}
	if len(f.Compromised) > 0 {
		f.Severity = SeverityCritical
		f.Summary += fmt.Sprintf(" %d of them signed in successfully; reset their passwords.", len(f.Compromised))
	}
	d.e.report(f)
}

func fillObs(f *Finding, o *obs) {
	f.Events = append(f.Events, o.seq)
	if o.src.IsValid() {
		f.Sources = append(f.Sources, o.src)
	}
	if o.acct != "" {
		f.Accounts = append(f.Accounts, o.acct)
	}
}

func appendSeq(s []uint64, v uint64) []uint64 {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// enumeration: many distinct accounts in sign-up or password-reset
// requests from one source or subnet — probing which accounts exist.
type enumeration struct {
	e       *Engine
	cfg     EnumerationConfig
	w       int64
	srcs    *table[uint64, keyState]
	subnets *table[uint64, keyState]
}

func newEnumeration(e *Engine) *enumeration {
	c := e.cfg.Enumeration
	w := int64(c.Window)
	m := e.cfg.Limits.MaxKeys
	return &enumeration{e: e, cfg: c, w: w, srcs: newKeyTable(m, w), subnets: newKeyTable(m, w)}
}

func (d *enumeration) observe(o *obs) {
	if a := o.ev.Action; (a != ActionSignup && a != ActionPasswordReset) || o.acct == "" || !o.src.IsValid() {
		return
	}
	st, fresh := d.srcs.get(o.sh, o.ts)
	if fresh {
		st.pfx = single(o.src)
	}
	d.step(st, ScopeSource, o, d.cfg.Accounts)
	st, fresh = d.subnets.get(o.nh, o.ts)
	if fresh {
		st.pfx = o.net
	}
	d.step(st, ScopeSubnet, o, d.cfg.SubnetAccounts)
}

func (d *enumeration) step(st *keyState, scope Scope, o *obs, n int) {
	st.set.add(o.ev, o.acct, o.ah, o.ts, d.w, o.seq, n)
	if alerting(st.alertUntil, o.ts, d.w) {
		st.alertUntil = o.ts + d.w
		f := d.e.finding(TypeEnumeration, SeverityMedium, scope, st.key())
		fillObs(f, o)
		d.e.report(f)
		return
	}
	if len(st.set.items) < n {
		return
	}
	c := st.set.count(o.ts, d.w, nil)
	if c < n {
		return
	}
	st.alertUntil = o.ts + d.w
	f := d.e.finding(TypeEnumeration, SeverityMedium, scope, st.key())
	for i := range st.set.items {
		if it := &st.set.items[i]; near(o.ts, it.last, d.w) {
			f.Events = append(f.Events, it.seq)
			f.Accounts = append(f.Accounts, it.name)
		}
	}
	f.Events = appendSeq(f.Events, o.seq)
	f.Sources = d.e.sourcesOf(f.Events, f.Sources)
	f.Summary = fmt.Sprintf("%s %s asked about %d different accounts through sign-up or password reset within %s.", scope, st.key(), c, fmtDur(d.w))
	d.e.report(f)
}
