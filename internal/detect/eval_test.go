package detect_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mamori-dev/mamori/internal/detect"
)

const decoyName = "svc-backup-old"

func runEngine(t testing.TB, cfg detect.Config, evs []detect.Event) []detect.Alert {
	t.Helper()
	e, err := detect.New(cfg, detect.Options{Collect: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		e.Observe(&evs[i])
	}
	return e.Flush()
}

// overlaps reports whether alert a is about attack x: it names one of the
// attack's sources or accounts, at a time near the attack.
func overlaps(a *detect.Alert, x *attack) bool {
	if a.Start.After(x.end.Add(24*time.Hour)) || a.End.Before(x.start.Add(-time.Hour)) {
		return false
	}
	for _, s := range a.Sources {
		if x.sources[s] {
			return true
		}
	}
	for _, u := range a.Accounts {
		if x.accounts[u] {
			return true
		}
	}
	return false
}

type evaluation struct {
	detected map[string]bool
	perAtk   map[string]int // alerts attributed to each attack
	falses   []detect.Alert
	notices  int
}

func evaluate(s *synth, alerts []detect.Alert) evaluation {
	ev := evaluation{detected: map[string]bool{}, perAtk: map[string]int{}}
	for i := range alerts {
		a := &alerts[i]
		// The administrator's own sign-ins from the office are notices by design.
		if a.Type == detect.TypePrivileged && slices.Equal(a.Accounts, []string{"admin"}) && slices.Contains(s.offices, a.Sources[0]) {
			ev.notices++
			continue
		}
		matched := false
		for _, x := range s.attacks {
			if overlaps(a, x) {
				matched = true
				ev.perAtk[x.name]++
				if a.Type == x.want {
					ok := true
					for _, c := range x.compromised {
						ok = ok && slices.Contains(a.Compromised, c)
					}
					if ok || ev.detected[x.name] {
						ev.detected[x.name] = true
					}
				}
			}
		}
		if matched {
			continue
		}
		ev.falses = append(ev.falses, *a)
	}
	return ev
}

// TestSyntheticAttacks is the labelled evaluation: every attack must be
// detected, with its compromised accounts named, and false alerts on the
// benign population must stay near zero.
func TestSyntheticAttacks(t *testing.T) {
	s := newSynth(1, 2000, 7)
	s.benign()
	s.attacksAll(decoyName)
	evs := s.sorted()
	cfg := detect.Default()
	cfg.Decoy.Accounts = []string{decoyName}
	alerts := runEngine(t, cfg, evs)
	res := evaluate(s, alerts)

	t.Logf("%d events, %d alerts, %d attacks", len(evs), len(alerts), len(s.attacks))
	for _, x := range s.attacks {
		t.Logf("  %-50s %-20s detected=%-5v alerts=%d", x.name, x.want, res.detected[x.name], res.perAtk[x.name])
		if !res.detected[x.name] {
			t.Errorf("attack %q was not detected as %s (with compromised %v)", x.name, x.want, x.compromised)
		}
		// One attack is a few alerts at most, never one per event.
		if res.perAtk[x.name] > 4 {
			t.Errorf("attack %q raised %d alerts; want at most 4", x.name, res.perAtk[x.name])
		}
	}
	for _, a := range res.falses {
		t.Logf("  false alert: %s %s %s %v %v: %s", a.Type, a.Severity, a.Start.Format(time.RFC3339), a.Sources, a.Accounts, a.Summary)
	}
	t.Logf("false alerts: %d; privileged notices: %d (expected %d)", len(res.falses), res.notices, s.notices)
	if len(res.falses) > 1 {
		t.Errorf("%d false alerts on benign traffic; want at most 1", len(res.falses))
	}
	if res.notices != s.notices {
		t.Errorf("privileged sign-in notices = %d, want %d (one per admin sign-in)", res.notices, s.notices)
	}
}

// TestSyntheticBenignOnly counts false alerts on a larger benign population
// with no attack at all.
func TestSyntheticBenignOnly(t *testing.T) {
	for _, seed := range []uint64{2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			s := newSynth(seed, 4000, 7)
			s.benign()
			alerts := runEngine(t, detect.Default(), s.sorted())
			res := evaluate(s, alerts)
			var kinds []string
			for _, a := range res.falses {
				kinds = append(kinds, fmt.Sprintf("%s %s %s (%s; %d events, sources %v)", a.Type, a.Scope, a.Key, a.Summary, a.Events, a.Sources))
			}
			t.Logf("%d events, %d false alerts %s, %d notices", len(s.events), len(res.falses), strings.Join(kinds, "; "), res.notices)
			if len(res.falses) > 1 {
				t.Errorf("%d false alerts; want at most 1", len(res.falses))
			}
		})
	}
}
