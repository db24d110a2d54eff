package detect

import (
	"slices"
	"strings"

	"github.com/mamori-dev/mamori"
)

// Sweep runs one engine per value of one setting over the same events, so
// that a threshold can be chosen from how many alerts each value would have
// raised (guideline 2.4.1 ⑥). The events are read once.
type Sweep struct {
	key     string
	values  []string
	engines []*Engine
}

// SweepPoint is the outcome for one value.
type SweepPoint struct {
	Value  string            `json:"value"`
	Alerts int               `json:"alerts"`
	ByType map[AlertType]int `json:"by_type"`
	// Sources and Accounts are the distinct sources and accounts named in
	// the alerts (capped lists, see Config.Alerts).
	Sources  int `json:"sources"`
	Accounts int `json:"accounts"`
}

// ParseSweep reads "DETECTOR.PARAM=v1,v2,…" (a Config key path).
func ParseSweep(spec string) (key string, values []string, err error) {
	key, list, ok := strings.Cut(spec, "=")
	key = strings.TrimSpace(key)
	if !ok || key == "" || strings.TrimSpace(list) == "" {
		return "", nil, mamori.Invalid("sweep", "must look like brute_force.account_failures=3,5,10")
	}
	for _, v := range strings.Split(list, ",") {
		if v = strings.TrimSpace(v); v != "" {
			values = append(values, v)
		}
	}
	return key, values, nil
}

// NewSweep prepares one engine per value of key over base.
func NewSweep(base Config, key string, values []string, extra func() []Detector) (*Sweep, error) {
	if len(values) == 0 {
		return nil, mamori.Invalid("sweep", "needs at least one value")
	}
	s := &Sweep{key: key, values: values}
	for _, v := range values {
		c := base
		if err := c.Set(key, v); err != nil {
			return nil, err
		}
		var dets []Detector
		if extra != nil {
			dets = extra()
		}
		e, err := New(c, Options{Collect: true, Detectors: dets})
		if err != nil {
			return nil, err
		}
		s.engines = append(s.engines, e)
	}
	return s, nil
}

// Observe feeds ev to every engine.
func (s *Sweep) Observe(ev *Event) {
	for _, e := range s.engines {
		e.Observe(ev)
	}
}

// Key returns the swept setting.
func (s *Sweep) Key() string { return s.key }

// Result finishes every engine and counts its alerts.
func (s *Sweep) Result() []SweepPoint {
	out := make([]SweepPoint, len(s.engines))
	for i, e := range s.engines {
		as := e.Flush()
		p := SweepPoint{Value: s.values[i], Alerts: len(as), ByType: map[AlertType]int{}}
		var srcs []string
		var accts []string
		for _, a := range as {
			p.ByType[a.Type]++
			for _, x := range a.Sources {
				srcs = append(srcs, x.String())
			}
			accts = append(accts, a.Accounts...)
		}
		slices.Sort(srcs)
		slices.Sort(accts)
		p.Sources = len(slices.Compact(srcs))
		p.Accounts = len(slices.Compact(accts))
		out[i] = p
	}
	return out
}
