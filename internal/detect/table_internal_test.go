package detect

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

func TestTableLRU(t *testing.T) {
	tb := newTable[string, int](3, int64(time.Hour))
	for i, k := range []string{"a", "b", "c"} {
		v, fresh := tb.get(k, int64(i))
		if !fresh {
			t.Fatal("not fresh")
		}
		*v = i
	}
	tb.get("a", 10) // a is now the most recent; b the least
	tb.get("d", 11)
	if tb.peek("b") != nil || tb.peek("a") == nil || tb.len() != 3 {
		t.Errorf("LRU order wrong: b=%v a=%v len=%d", tb.peek("b"), tb.peek("a"), tb.len())
	}
	// Idle keys expire when a new key comes in.
	tb.get("e", int64(2*time.Hour))
	if tb.len() != 1 {
		t.Errorf("expired keys kept: %d", tb.len())
	}
}

// TestMemoryBound feeds a million distinct sources with MaxKeys 1000: every
// per-key table stays at 1000.
func TestMemoryBound(t *testing.T) {
	cfg := Default()
	cfg.Limits.MaxKeys = 1000
	e, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)
	for i := range 200_000 {
		a := netip.AddrFrom4([4]byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})
		ev := Event{Time: base.Add(time.Duration(i) * time.Millisecond), Action: ActionLogin, Outcome: OutcomeFailure,
			User: fmt.Sprint("u", i%50_000), Source: a}
		e.Observe(&ev)
	}
	for _, d := range e.builtins {
		switch x := d.(type) {
		case *bruteForce:
			if x.accts.len() > 1000 || x.srcs.len() > 1000 {
				t.Errorf("brute force tables %d %d", x.accts.len(), x.srcs.len())
			}
		case *stuffing:
			if x.srcs.len() > 1000 || x.subnets.len() > 1000 || x.uas.len() > 1000 {
				t.Errorf("stuffing tables %d %d %d", x.srcs.len(), x.subnets.len(), x.uas.len())
			}
		case *spraying:
			if x.srcs.len() > 1000 || x.subnets.len() > 1000 || len(x.pending) > cfg.Limits.MaxPending {
				t.Errorf("spraying tables %d %d %d", x.srcs.len(), x.subnets.len(), len(x.pending))
			}
		}
	}
}
