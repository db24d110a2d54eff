package detect_test

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/mamori-dev/mamori/internal/detect"
)

var t0 = time.Date(2026, 3, 3, 2, 0, 0, 0, time.UTC) // Tuesday 11:00 in Tokyo

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func fail(at time.Duration, user, src string) detect.Event {
	return detect.Event{Time: t0.Add(at), Action: detect.ActionLogin, Outcome: detect.OutcomeFailure,
		Reason: detect.ReasonBadPassword, User: user, Source: ip(src)}
}

func ok(at time.Duration, user, src string) detect.Event {
	return detect.Event{Time: t0.Add(at), Action: detect.ActionLogin, Outcome: detect.OutcomeSuccess, User: user, Source: ip(src)}
}

func unknown(at time.Duration, user, src string) detect.Event {
	e := fail(at, user, src)
	e.Reason = detect.ReasonUnknownUser
	return e
}

func types(as []detect.Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, string(a.Type))
	}
	return out
}

func TestDetectors(t *testing.T) {
	tests := []struct {
		name   string
		cfg    func(c *detect.Config)
		events func() []detect.Event
		want   []detect.AlertType // alert types, in start order
		check  func(t *testing.T, as []detect.Alert)
	}{
		{name: "four failures are not brute force", events: func() (evs []detect.Event) {
			for i := range 4 {
				evs = append(evs, fail(time.Duration(i)*time.Minute, "alice", "192.0.2.1"))
			}
			return append(evs, ok(5*time.Minute, "alice", "192.0.2.1"))
		}},
		{name: "five failures spread past the window are not brute force", events: func() (evs []detect.Event) {
			for i := range 5 {
				evs = append(evs, fail(time.Duration(i)*3*time.Minute, "alice", "192.0.2.1"))
			}
			return evs
		}},
		{name: "brute force then success names the account", events: func() (evs []detect.Event) {
			for i := range 8 {
				evs = append(evs, fail(time.Duration(i)*10*time.Second, "alice", fmt.Sprintf("198.51.100.%d", i+1)))
			}
			return append(evs, ok(2*time.Minute, "alice", "198.51.100.3"))
		}, want: []detect.AlertType{detect.TypeBruteForce}, check: func(t *testing.T, as []detect.Alert) {
			a := as[0]
			if a.Severity != detect.SeverityCritical || !slices.Equal(a.Compromised, []string{"alice"}) {
				t.Errorf("severity %s, compromised %v", a.Severity, a.Compromised)
			}
			if a.Events != 9 || len(a.Evidence) != 9 || len(a.Sources) != 8 || a.EvidenceDigest == "" {
				t.Errorf("events %d evidence %d sources %d", a.Events, len(a.Evidence), len(a.Sources))
			}
		}},
		{name: "one attack, one alert: 3000 failures", events: func() (evs []detect.Event) {
			for i := range 3000 {
				evs = append(evs, fail(time.Duration(i)*time.Second, "root", "203.0.113.9"))
			}
			return evs
		}, want: []detect.AlertType{detect.TypeBruteForce}, check: func(t *testing.T, as []detect.Alert) {
			if as[0].Events != 3000 || len(as[0].Evidence) != 1000 {
				t.Errorf("events %d, evidence kept %d (cap 1000)", as[0].Events, len(as[0].Evidence))
			}
		}},
		{name: "stuffing with unknown accounts and a hit", events: func() (evs []detect.Event) {
			for i := range 12 {
				evs = append(evs, unknown(time.Duration(i)*20*time.Second, fmt.Sprintf("u%d", i), "203.0.113.50"))
			}
			return append(evs, ok(5*time.Minute, "bob", "203.0.113.50"))
		}, want: []detect.AlertType{detect.TypeStuffing}, check: func(t *testing.T, as []detect.Alert) {
			if as[0].Severity != detect.SeverityCritical || !slices.Contains(as[0].Compromised, "bob") {
				t.Errorf("severity %s compromised %v", as[0].Severity, as[0].Compromised)
			}
		}},
		{name: "busy NAT with many successes is not stuffing", events: func() (evs []detect.Event) {
			for i := range 60 {
				u := fmt.Sprintf("staff%d", i)
				if i%10 == 0 {
					evs = append(evs, fail(time.Duration(i)*5*time.Second, u, "192.0.2.200"))
				}
				evs = append(evs, ok(time.Duration(i)*5*time.Second+time.Second, u, "192.0.2.200"))
			}
			return evs
		}},
		{name: "fast probe of default accounts", events: func() []detect.Event {
			return []detect.Event{unknown(0, "support", "203.0.113.7"), fail(2*time.Second, "uucp", "203.0.113.7"), unknown(4*time.Second, "admin", "203.0.113.7")}
		}, want: []detect.AlertType{detect.TypeStuffing}, check: func(t *testing.T, as []detect.Alert) {
			if as[0].Severity != detect.SeverityLow || len(as[0].Accounts) != 3 {
				t.Errorf("%+v", as[0])
			}
		}},
		{name: "same password fingerprint on many accounts", events: func() (evs []detect.Event) {
			for i := range 6 {
				e := fail(time.Duration(i)*time.Hour, fmt.Sprintf("user%d", i), fmt.Sprintf("198.18.%d.1", i))
				e.PasswordHMAC = "f00d"
				evs = append(evs, e)
			}
			return evs
		}, want: []detect.AlertType{detect.TypeSpraying}, check: func(t *testing.T, as []detect.Alert) {
			if as[0].Scope != detect.ScopeFingerprint || len(as[0].Sources) != 6 {
				t.Errorf("scope %s sources %v", as[0].Scope, as[0].Sources)
			}
		}},
		{name: "enumeration through sign-up", events: func() (evs []detect.Event) {
			for i := range 10 {
				evs = append(evs, detect.Event{Time: t0.Add(time.Duration(i) * 30 * time.Second), Action: detect.ActionSignup,
					Outcome: detect.OutcomeFailure, Reason: detect.ReasonUserExists, User: fmt.Sprintf("c%d", i), Source: ip("203.0.113.77")})
			}
			return evs
		}, want: []detect.AlertType{detect.TypeEnumeration}},
		{name: "decoy: any attempt", cfg: func(c *detect.Config) { c.Decoy.Accounts = []string{"Honey"} }, events: func() []detect.Event {
			return []detect.Event{fail(0, "honey", "192.0.2.9")}
		}, want: []detect.AlertType{detect.TypeDecoy}},
		{name: "privileged sign-in in hours is a notice only", events: func() []detect.Event {
			return []detect.Event{ok(0, "root", "192.0.2.10")}
		}, want: []detect.AlertType{detect.TypePrivileged}},
		{name: "privileged sign-in at 07:59 Tokyo is off hours", events: func() []detect.Event {
			e := ok(0, "adm-ops", "192.0.2.10")
			e.Time = time.Date(2026, 3, 3, 7, 59, 0, 0, time.FixedZone("JST", 9*3600))
			return []detect.Event{e}
		}, cfg: func(c *detect.Config) { c.Privileged.Accounts = []string{"adm-*"} },
			want: []detect.AlertType{detect.TypeOffHours, detect.TypePrivileged}},
		{name: "holiday is off hours for everyone when scope is all", cfg: func(c *detect.Config) {
			c.OffHours.Scope = "all"
			c.OffHours.Holidays = []string{"2026-03-03"}
		}, events: func() []detect.Event { return []detect.Event{ok(0, "carol", "192.0.2.11")} },
			want: []detect.AlertType{detect.TypeOffHours}},
		{name: "failures months apart, fed out of order, are not brute force", events: func() (evs []detect.Event) {
			for _, d := range []time.Duration{0, 4000, -3000, 2000, -1000, 6000} {
				evs = append(evs, fail(d*time.Hour, "root", "192.0.2.1"))
			}
			return evs
		}},
		{name: "disabled detectors stay quiet", cfg: func(c *detect.Config) {
			c.BruteForce.Enabled, c.Stuffing.Enabled, c.Spraying.Enabled = false, false, false
		}, events: func() (evs []detect.Event) {
			for i := range 50 {
				evs = append(evs, fail(time.Duration(i)*time.Second, fmt.Sprint("x", i%3), "203.0.113.1"))
			}
			return evs
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := detect.Default()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			as := runEngine(t, cfg, tt.events())
			got := types(as)
			var want []string
			for _, w := range tt.want {
				want = append(want, string(w))
			}
			if !slices.Equal(got, want) {
				for _, a := range as {
					t.Logf("%s %s %s: %s", a.Type, a.Scope, a.Key, a.Summary)
				}
				t.Fatalf("alerts %v, want %v", got, want)
			}
			if tt.check != nil {
				tt.check(t, as)
			}
		})
	}
}

// TestSinkUpserts checks that a sink sees one ID growing, then final.
func TestSinkUpserts(t *testing.T) {
	var got []detect.Alert
	e, err := detect.New(detect.Default(), detect.Options{Sink: detect.SinkFunc(func(a detect.Alert) error {
		got = append(got, a)
		return nil
	})})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		ev := fail(time.Duration(i)*time.Second, "root", "203.0.113.9")
		e.Observe(&ev)
	}
	if open := e.Open(); len(open) != 1 || open[0].Final {
		t.Fatalf("open alerts: %+v", open)
	}
	// Two hours later the alert can no longer grow.
	e.Advance(t0.Add(2 * time.Hour))
	if len(got) < 2 {
		t.Fatalf("sink called %d times", len(got))
	}
	last := got[len(got)-1]
	for _, a := range got {
		if a.ID != last.ID {
			t.Fatalf("several IDs for one attack: %s, %s", a.ID, last.ID)
		}
	}
	if !last.Final || last.Events != 100 || len(got) > 10 {
		t.Errorf("last: final=%v events=%d after %d calls", last.Final, last.Events, len(got))
	}
	if st := e.Stats(); st.Events != 100 || st.Failures != 100 || st.Sources != 1 || st.Alerts != 1 || st.AttackAttempts != 100 {
		t.Errorf("stats %+v", st)
	}
}

func TestClockClampsFutureEvents(t *testing.T) {
	now := t0
	e, _ := detect.New(detect.Default(), detect.Options{Clock: func() time.Time { return now }})
	ev := fail(365*24*time.Hour, "a", "192.0.2.1")
	e.Observe(&ev)
	if st := e.Stats(); st.Clamped != 1 || st.Last.After(now.Add(10*time.Minute)) {
		t.Errorf("stats %+v", st)
	}
}

func TestBlocklist(t *testing.T) {
	cfg := detect.Default().Block
	cfg.Allow = []string{"192.0.2.0/24"}
	a := &detect.Alert{ID: "a1", Type: detect.TypeBruteForce, Sources: []netip.Addr{ip("192.0.2.5"), ip("203.0.113.9"), ip("2001:db8::1")}}
	ds := detect.Decide(cfg, a, t0)
	if len(ds) != 2 {
		t.Fatalf("decisions %+v", ds)
	}
	if none := detect.Decide(cfg, &detect.Alert{Type: detect.TypePrivileged, Sources: a.Sources}, t0); none != nil {
		t.Errorf("privileged sign-in blocked: %+v", none)
	}
	bl := detect.NewBlocklist()
	bl.Add(ds...)
	bl.Add(detect.Decision{Source: netip.MustParsePrefix("198.51.100.0/24"), Created: t0, Expires: t0.Add(time.Hour), Reason: "manual"})
	var text, js []byte
	{
		var b bytesBuf
		if err := detect.WriteText(&b, bl.Active(t0.Add(2*time.Hour))); err != nil {
			t.Fatal(err)
		}
		text = b.b
		b.b = nil
		if err := detect.WriteJSON(&b, bl.Active(t0), t0); err != nil {
			t.Fatal(err)
		}
		js = b.b
	}
	if string(text) != "203.0.113.9/32\n2001:db8::1/128\n" {
		t.Errorf("text export:\n%s", text)
	}
	for _, want := range []string{`"source": "198.51.100.0/24"`, `"reason": "manual"`, `"alert_id": "a1"`, `"generated"`} {
		if !contains(js, want) {
			t.Errorf("JSON export lacks %s:\n%s", want, js)
		}
	}
	d := detect.Decision{Source: netip.MustParsePrefix("198.51.100.0/24"), Created: t0, Expires: t0}
	if err := d.Validate(); err == nil {
		t.Error("expiry at creation accepted")
	}
}

type bytesBuf struct{ b []byte }

func (w *bytesBuf) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

func contains(b []byte, s string) bool { return len(s) == 0 || indexOf(string(b), s) >= 0 }

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func TestSweep(t *testing.T) {
	var evs []detect.Event
	// Accounts with 3, 6 and 12 failures each.
	for i, n := range []int{3, 6, 12} {
		for j := range n {
			evs = append(evs, fail(time.Duration(i)*time.Hour+time.Duration(j)*time.Second, fmt.Sprint("acct", i), fmt.Sprintf("198.51.100.%d", i*20+j+1)))
		}
	}
	slices.SortFunc(evs, func(a, b detect.Event) int { return a.Time.Compare(b.Time) })
	key, values, err := detect.ParseSweep("brute_force.account_failures = 3, 6, 12, 13")
	if err != nil {
		t.Fatal(err)
	}
	sw, err := detect.NewSweep(detect.Default(), key, values, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		sw.Observe(&evs[i])
	}
	var got []int
	for _, p := range sw.Result() {
		got = append(got, p.ByType[detect.TypeBruteForce])
	}
	if !slices.Equal(got, []int{3, 2, 1, 0}) {
		t.Errorf("brute-force alerts per threshold %v, want [3 2 1 0]", got)
	}
	if _, _, err := detect.ParseSweep("brute_force.account_failures"); err == nil {
		t.Error("sweep without values accepted")
	}
	if _, err := detect.NewSweep(detect.Default(), "nope.x", []string{"1"}, nil); err == nil {
		t.Error("sweep of an unknown key accepted")
	}
}

// FuzzEngine feeds arbitrary sequences of events (times going back and
// forth, few accounts and sources, every action and outcome) to an engine
// with small limits: it must never panic, and its alerts must be sane.
func FuzzEngine(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Add([]byte("brute force brute force brute force brute force"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg := detect.Default()
		cfg.Limits.MaxKeys, cfg.Limits.EvidenceBuffer, cfg.Limits.MaxPending = 16, 16, 16
		cfg.Alerts.MaxEvidence, cfg.Alerts.MaxSources, cfg.Alerts.MaxAccounts = 3, 3, 3
		cfg.Decoy.Accounts = []string{"u1"}
		e, err := detect.New(cfg, detect.Options{Collect: true})
		if err != nil {
			t.Fatal(err)
		}
		actions := []detect.Action{detect.ActionLogin, detect.ActionMFA, detect.ActionSignup, detect.ActionPasswordReset, detect.ActionLogout, "other"}
		outcomes := []detect.Outcome{detect.OutcomeFailure, detect.OutcomeSuccess, detect.OutcomeUnknown}
		now := t0
		for i := 0; i+3 < len(b); i += 4 {
			now = now.Add(time.Duration(int8(b[i])) * 7 * time.Second)
			ev := detect.Event{Time: now, Action: actions[int(b[i+1])%len(actions)], Outcome: outcomes[int(b[i+1]>>4)%len(outcomes)],
				User: fmt.Sprintf("u%d", b[i+2]%8), Source: netip.AddrFrom4([4]byte{192, 0, b[i+3] % 4, b[i+3] % 16})}
			if b[i+2]&0x80 != 0 {
				ev.Reason = detect.ReasonUnknownUser
				ev.PasswordHMAC = "p"
			}
			e.Observe(&ev)
		}
		for _, a := range e.Flush() {
			if a.Events < 1 || len(a.Evidence) > 3 || a.End.Before(a.Start) || a.ID == "" || !a.Final {
				t.Fatalf("bad alert %+v", a)
			}
		}
	})
}
