package detect_test

import (
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/mamori-dev/mamori/internal/detect"
)

// The wiring a server does: an engine with a sink that stores alerts (here
// it prints them), events fed as they arrive — mamori's own sign-ins
// included — and the blocklist the alerts call for.
func Example() {
	cfg := detect.Default()
	cfg.Decoy.Accounts = []string{"svc-backup-old"}
	blocklist := detect.NewBlocklist()
	sink := detect.SinkFunc(func(a detect.Alert) error {
		if a.Final { // the store would upsert every call by a.ID
			fmt.Printf("%s %s %v %v events=%d compromised=%v\n", a.Type, a.Severity, a.Sources, a.Accounts, a.Events, a.Compromised)
			blocklist.Add(detect.Decide(cfg.Block, &a, a.End)...)
		}
		return nil
	})
	engine, err := detect.New(cfg, detect.Options{Sink: sink})
	if err != nil {
		fmt.Println(err)
		return
	}
	t0 := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	for i := range 6 {
		engine.Observe(&detect.Event{Time: t0.Add(time.Duration(i) * time.Second), Action: detect.ActionLogin,
			Outcome: detect.OutcomeFailure, Reason: detect.ReasonBadPassword, User: "alice", Source: netip.MustParseAddr("203.0.113.9")})
	}
	engine.Observe(&detect.Event{Time: t0.Add(time.Minute), Action: detect.ActionLogin, Outcome: detect.OutcomeSuccess,
		User: "alice", Source: netip.MustParseAddr("203.0.113.9")})
	engine.Flush() // at shutdown; a live server calls Advance(now) on a timer instead
	detect.WriteText(os.Stdout, blocklist.Active(t0.Add(time.Hour)))
	// Output:
	// brute_force critical [203.0.113.9] [alice] events=7 compromised=[alice]
	// 203.0.113.9/32
}
