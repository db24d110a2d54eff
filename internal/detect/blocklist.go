package detect

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"time"

	"github.com/mamori-dev/mamori"
)

// Decision blocks a source until Expires.
type Decision struct {
	Source  netip.Prefix `json:"source"`
	Created time.Time    `json:"created"`
	Expires time.Time    `json:"expires"`
	Reason  string       `json:"reason"`
	AlertID string       `json:"alert_id,omitempty"`
}

// Validate checks a decision entered by hand.
func (d *Decision) Validate() error {
	fe := mamori.FieldErrors{}
	if !d.Source.IsValid() {
		fe.Add("source", "must be an IP address or prefix")
	}
	if d.Expires.IsZero() {
		fe.Add("expires", "is required")
	} else if !d.Created.IsZero() && !d.Expires.After(d.Created) {
		fe.Add("expires", "must be after created")
	}
	if len(d.Reason) > 500 {
		fe.Add("reason", "must be at most 500 characters")
	}
	return fe.Err()
}

// ParseSource reads "192.0.2.7" or "192.0.2.0/24" as a prefix.
func ParseSource(s string) (netip.Prefix, error) {
	p, err := parsePrefix(s)
	if err != nil {
		return netip.Prefix{}, mamori.Invalid("source", "must be an IP address or prefix")
	}
	return p, nil
}

// Decide returns the block decisions an alert calls for under cfg: one per
// source, unless the alert type is not blocked or the source is allowed.
func Decide(cfg BlockConfig, a *Alert, now time.Time) []Decision {
	if !slices.Contains(cfg.Types, string(a.Type)) {
		return nil
	}
	var allow []netip.Prefix
	for _, s := range cfg.Allow {
		if p, err := parsePrefix(s); err == nil {
			allow = append(allow, p)
		}
	}
	var out []Decision
next:
	for _, s := range a.Sources {
		for _, p := range allow {
			if p.Contains(s) {
				continue next
			}
		}
		out = append(out, Decision{
			Source: netip.PrefixFrom(s, s.BitLen()), Created: now, Expires: now.Add(cfg.Duration.D()),
			Reason: fmt.Sprintf("%s alert %s", a.Type, a.ID), AlertID: a.ID,
		})
	}
	return out
}

// Blocklist is the set of current decisions, one per source; a new
// decision for a blocked source keeps the later expiry.
type Blocklist struct {
	m map[netip.Prefix]Decision
}

func NewBlocklist() *Blocklist { return &Blocklist{m: map[netip.Prefix]Decision{}} }

func (b *Blocklist) Add(ds ...Decision) {
	for _, d := range ds {
		d.Source = d.Source.Masked()
		if old, ok := b.m[d.Source]; ok && old.Expires.After(d.Expires) {
			continue
		}
		b.m[d.Source] = d
	}
}

func (b *Blocklist) Remove(p netip.Prefix) { delete(b.m, p.Masked()) }

// Active returns the decisions not expired at now, ordered by source.
func (b *Blocklist) Active(now time.Time) []Decision {
	out := make([]Decision, 0, len(b.m))
	for _, d := range b.m {
		if d.Expires.After(now) {
			out = append(out, d)
		}
	}
	SortDecisions(out)
	return out
}

// SortDecisions orders decisions by source.
func SortDecisions(ds []Decision) {
	slices.SortFunc(ds, func(p, q Decision) int {
		if c := p.Source.Addr().Compare(q.Source.Addr()); c != 0 {
			return c
		}
		return p.Source.Bits() - q.Source.Bits()
	})
}

// WriteText writes one prefix per line ("192.0.2.7/32"), nothing else, as
// ipset, nftables sets and most WAF IP lists take them.
func WriteText(w io.Writer, ds []Decision) error {
	bw := bufio.NewWriter(w)
	for _, d := range ds {
		bw.WriteString(d.Source.String())
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// BlocklistDoc is the JSON export.
type BlocklistDoc struct {
	Generated time.Time  `json:"generated"`
	Decisions []Decision `json:"decisions"`
}

// WriteJSON writes {"generated":…,"decisions":[…]}.
func WriteJSON(w io.Writer, ds []Decision, now time.Time) error {
	if ds == nil {
		ds = []Decision{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(BlocklistDoc{Generated: now.UTC(), Decisions: ds})
}
