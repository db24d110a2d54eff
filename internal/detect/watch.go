package detect

import (
	"fmt"
	"path"
	"strings"
	"time"
)

// watch raises alerts on single events: any attempt on a decoy account,
// every successful privileged sign-in, and successful sign-in outside
// business hours.
type watch struct {
	e          *Engine
	decoys     map[string]struct{}
	priv       map[string]struct{}
	privGlobs  []string
	privOn     bool
	offOn      bool
	offAll     bool
	days       [7]bool
	start, end int // minutes after midnight
	holidays   map[string]struct{}
}

func newWatch(e *Engine) *watch {
	c := e.cfg
	w := &watch{e: e, decoys: map[string]struct{}{}, priv: map[string]struct{}{},
		privOn: c.Privileged.Enabled, offOn: c.OffHours.Enabled, offAll: c.OffHours.Scope == "all",
		holidays: map[string]struct{}{}}
	for _, a := range c.Decoy.Accounts {
		w.decoys[e.normalize(strings.TrimSpace(a))] = struct{}{}
	}
	for _, a := range c.Privileged.Accounts {
		a = e.normalize(strings.TrimSpace(a))
		if strings.ContainsAny(a, "*?[") {
			w.privGlobs = append(w.privGlobs, a)
		} else {
			w.priv[a] = struct{}{}
		}
	}
	for _, d := range c.OffHours.Days {
		w.days[weekdays[strings.ToLower(d)]] = true
	}
	w.start, _ = clockMinutes(c.OffHours.Start)
	w.end, _ = clockMinutes(c.OffHours.End)
	for _, h := range c.OffHours.Holidays {
		w.holidays[h] = struct{}{}
	}
	return w
}

func (w *watch) privileged(acct string) bool {
	if _, ok := w.priv[acct]; ok {
		return true
	}
	for _, g := range w.privGlobs {
		if ok, _ := path.Match(g, acct); ok {
			return true
		}
	}
	return false
}

func (w *watch) observe(o *obs) {
	if o.acct == "" {
		return
	}
	if _, ok := w.decoys[o.acct]; ok {
		f := w.e.finding(TypeDecoy, SeverityHigh, ScopeAccount, o.acct)
		fillObs(f, o)
		f.Summary = fmt.Sprintf("Someone tried the decoy account %s (%s, %s); no real user has it.", o.acct, o.ev.Action, o.ev.Outcome)
		if o.ok {
			f.Severity = SeverityCritical
			f.Summary = fmt.Sprintf("The decoy account %s signed in successfully: its credentials have leaked.", o.acct)
			f.Compromised = append(f.Compromised, o.acct)
		}
		w.e.report(f)
		return
	}
	if !o.ok || (o.ev.Action != ActionLogin && o.ev.Action != ActionMFA) {
		return
	}
	priv := (w.privOn || (w.offOn && !w.offAll)) && w.privileged(o.acct)
	if priv && w.privOn {
		f := w.e.finding(TypePrivileged, SeverityLow, ScopeAccount, o.acct)
		fillObs(f, o)
		f.Summary = fmt.Sprintf("Privileged account %s signed in from %s.", o.acct, srcText(o))
		w.e.report(f)
	}
	if w.offOn && (w.offAll || priv) {
		t := o.ev.Time.In(w.e.loc)
		if w.inHours(t) {
			return
		}
		sev := SeverityMedium
		if priv {
			sev = SeverityHigh
		}
		f := w.e.finding(TypeOffHours, sev, ScopeAccount, o.acct)
		fillObs(f, o)
		f.Summary = fmt.Sprintf("Account %s signed in outside business hours (%s %s) from %s.", o.acct, t.Format("Mon 2006-01-02 15:04"), w.e.cfg.TimeZone, srcText(o))
		w.e.report(f)
	}
}

func (w *watch) inHours(t time.Time) bool {
	if !w.days[t.Weekday()] {
		return false
	}
	if _, hol := w.holidays[t.Format("2006-01-02")]; hol {
		return false
	}
	m := t.Hour()*60 + t.Minute()
	return m >= w.start && m < w.end
}

func srcText(o *obs) string {
	if o.src.IsValid() {
		return o.src.String()
	}
	if o.ev.Domain != "" {
		return o.ev.Domain
	}
	return "an unknown source"
}
