package sigma

import (
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/detect"
)

func TestRulesAsDetectors(t *testing.T) {
	rs, err := LoadFiles("testdata")
	if err != nil {
		t.Fatal(err)
	}
	if rs.Len() != 2 {
		t.Fatalf("%d rules", rs.Len())
	}
	cfg := detect.Default()
	cfg.BruteForce.Enabled, cfg.Stuffing.Enabled, cfg.Privileged.Enabled, cfg.OffHours.Enabled = false, false, false, false
	e, err := detect.New(cfg, detect.Options{Collect: true, Detectors: rs.Detectors()})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	feed := func(at time.Duration, user, src string, outcome detect.Outcome) {
		ev := detect.Event{Time: t0.Add(at), Action: detect.ActionLogin, Outcome: outcome, User: user, Source: netip.MustParseAddr(src)}
		e.Observe(&ev)
	}
	// 192.0.2.1: 3 failures in a minute (not more than three), then 2 more
	// after the window: no alert. 192.0.2.2: 6 in 30 s: one alert.
	for i := range 3 {
		feed(time.Duration(i)*10*time.Second, "root", "192.0.2.1", detect.OutcomeFailure)
	}
	for i := range 2 {
		feed(5*time.Minute+time.Duration(i)*time.Second, "root", "192.0.2.1", detect.OutcomeFailure)
	}
	for i := range 6 {
		feed(10*time.Minute+time.Duration(i)*5*time.Second, "root", "192.0.2.2", detect.OutcomeFailure)
	}
	feed(20*time.Minute, "svc-batch", "192.0.2.3", detect.OutcomeSuccess)
	feed(21*time.Minute, "alice", "192.0.2.3", detect.OutcomeSuccess)
	as := e.Flush()
	var got []string
	for _, a := range as {
		got = append(got, fmt.Sprintf("%s %s %v %d %s", a.Type, a.Severity, a.Sources, a.Events, a.Rule))
	}
	want := []string{
		"sigma high [192.0.2.2] 3 Repeated root sign-in failures from one address (7c1e0f4a-3b2d-4c55-9a61-2f0e5d2b8a10)",
		"sigma medium [192.0.2.3] 1 Service account signed in interactively (0b5d8f0e-6a3c-4f8e-8d2a-1c9e4b7a6f21)",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got\n%v\nwant\n%v", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	tests := map[string]string{
		"not yaml":        "::: [",
		"no title":        "logsource: {product: x}\ndetection:\n  sel:\n    a: b\n  condition: sel\n",
		"bad level":       "title: t\nlogsource: {product: x}\ndetection:\n  sel:\n    a: b\n  condition: sel\nlevel: extreme\n",
		"count distinct":  "title: t\nlogsource: {product: x}\ndetection:\n  sel:\n    a: b\n  condition: sel | count(user.name) by source.ip > 3\n",
		"config not rule": "title: t\nbackends: [x]\nfieldmappings:\n  a: b\n",
	}
	for name, doc := range tests {
		if _, err := Parse(name, []byte(doc)); mamori.ErrorCode(err) != mamori.EINVALID {
			t.Errorf("%s: want EINVALID, got %v", name, err)
		}
	}
	if _, err := LoadFiles("testdata/missing.yml"); err == nil {
		t.Error("missing file accepted")
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/root-failures.yml", "testdata/svc-login.yml"} {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Parse("fuzz", b)
		if err != nil {
			return
		}
		// A rule that parsed must evaluate without taking the process down.
		d := newDetector(r)
		ev := detect.Event{Time: time.Unix(1, 0), Action: detect.ActionLogin, Outcome: detect.OutcomeFailure, User: "root", Source: netip.MustParseAddr("192.0.2.1")}
		d.Observe(&ev, 1, nopReporter{})
	})
}

type nopReporter struct{}

func (nopReporter) Report(*detect.Finding) {}
