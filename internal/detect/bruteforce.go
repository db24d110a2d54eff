package detect

import (
	"fmt"
	"time"
)

// bruteForce counts failed attempts per account (from any number of
// sources) and per source (on any accounts) in a sliding window. A success
// on an account under attack names it compromised.
type bruteForce struct {
	e     *Engine
	cfg   BruteForceConfig
	w     int64
	accts *table[uint64, bfState]
	srcs  *table[uint64, bfState]
}

type bfState struct {
	h          hits
	sh         share
	alertUntil int64
	key        string
}

func newBruteForce(e *Engine) *bruteForce {
	c := e.cfg.BruteForce
	w := int64(c.Window)
	return &bruteForce{e: e, cfg: c, w: w,
		accts: newTable[uint64, bfState](e.cfg.Limits.MaxKeys, w),
		srcs:  newTable[uint64, bfState](e.cfg.Limits.MaxKeys, w)}
}

func (d *bruteForce) observe(o *obs) {
	if a := o.ev.Action; a != ActionLogin && a != ActionMFA {
		return
	}
	if !o.fail && !o.ok {
		return
	}
	if o.acct != "" {
		d.account(o)
	}
	if o.src.IsValid() {
		d.source(o)
	}
}

func (d *bruteForce) account(o *obs) {
	if o.ok {
		st := d.accts.peek(o.ah)
		if st != nil && alerting(st.alertUntil, o.ts, d.w) {
			f := d.e.finding(TypeBruteForce, SeverityCritical, ScopeAccount, o.acct)
			f.Summary = fmt.Sprintf("Account %s signed in successfully during a brute-force attack on it; reset its password.", o.acct)
			d.fill(f, o)
			f.Compromised = append(f.Compromised, o.acct)
			d.e.report(f)
		}
		return
	}
	st, _ := d.accts.get(o.ah, o.ts)
	n := d.cfg.AccountFailures
	st.h.add(o.ts, o.seq, n)
	if alerting(st.alertUntil, o.ts, d.w) {
		st.alertUntil = o.ts + d.w
		f := d.e.finding(TypeBruteForce, SeverityMedium, ScopeAccount, o.acct)
		d.fill(f, o)
		d.e.report(f)
		return
	}
	if !st.h.reached(o.ts, d.w, n) {
		return
	}
	st.alertUntil = o.ts + d.w
	f := d.e.finding(TypeBruteForce, SeverityMedium, ScopeAccount, o.acct)
	f.Events = append(f.Events, st.h.within(o.ts, d.w)...)
	f.Sources = d.e.sourcesOf(f.Events, f.Sources)
	f.Accounts = append(f.Accounts, o.acct)
	from := "one source"
	if len(f.Sources) > 1 {
		from = fmt.Sprintf("%d sources", len(f.Sources))
		f.Severity = SeverityHigh
	}
	f.Summary = fmt.Sprintf("%d failed sign-ins on account %s within %s from %s.", n, o.acct, fmtDur(d.w), from)
	d.e.report(f)
}

func (d *bruteForce) source(o *obs) {
	var st *bfState
	if o.fail {
		st, _ = d.srcs.get(o.sh, o.ts)
	} else if st = d.srcs.peek(o.sh); st == nil {
		return // only sources that failed are tracked
	}
	st.sh.add(o.ts, d.w, o.fail)
	if alerting(st.alertUntil, o.ts, d.w) && st.key == "" {
		st.key = o.src.String()
	}
	if o.ok {
		if alerting(st.alertUntil, o.ts, d.w) && o.acct != "" {
			f := d.e.finding(TypeBruteForce, SeverityCritical, ScopeSource, st.key)
			f.Summary = fmt.Sprintf("Account %s signed in from %s, a source that was brute-forcing; reset its password.", o.acct, st.key)
			d.fill(f, o)
			f.Compromised = append(f.Compromised, o.acct)
			d.e.report(f)
		}
		return
	}
	n := d.cfg.SourceFailures
	st.h.add(o.ts, o.seq, n)
	if alerting(st.alertUntil, o.ts, d.w) {
		st.alertUntil = o.ts + d.w
		f := d.e.finding(TypeBruteForce, SeverityMedium, ScopeSource, st.key)
		d.fill(f, o)
		d.e.report(f)
		return
	}
	if !st.h.reached(o.ts, d.w, n) || st.sh.failureShare() < d.cfg.SourceMinFailureShare {
		return
	}
	st.key = o.src.String()
	f := d.e.finding(TypeBruteForce, SeverityMedium, ScopeSource, st.key)
	f.Events = append(f.Events, st.h.within(o.ts, d.w)...)
	f.Sources = append(f.Sources, o.src)
	for _, s := range f.Events {
		if ev := d.e.evidence(s); ev != nil && ev.User != "" {
			f.Accounts = appendUnique(f.Accounts, d.e.normalize(ev.User))
		}
	}
	// Failures spread over many accounts are credential stuffing, which
	// its own detector reports; brute force is a few accounts hammered.
	if len(f.Accounts) > n/2 {
		return
	}
	st.alertUntil = o.ts + d.w
	f.Summary = fmt.Sprintf("%d failed sign-ins from %s within %s on %d accounts.", n, st.key, fmtDur(d.w), len(f.Accounts))
	d.e.report(f)
}

func (d *bruteForce) fill(f *Finding, o *obs) {
	f.Events = append(f.Events, o.seq)
	if o.src.IsValid() {
		f.Sources = append(f.Sources, o.src)
	}
	if o.acct != "" {
		f.Accounts = append(f.Accounts, o.acct)
	}
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

func fmtDur(ns int64) string {
	d := time.Duration(ns)
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}
