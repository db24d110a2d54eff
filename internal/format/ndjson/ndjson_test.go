package ndjson

import (
	"testing"

	"github.com/mamori-dev/mamori"
)

func TestParse(t *testing.T) {
	p := New()
	evs, err := p.Parse(nil, []byte(`{"@timestamp":"2026-03-02T01:02:03Z","event.action":"login","event.outcome":"success","user.name":"a","source.ip":"192.0.2.1"}`))
	if err != nil || len(evs) != 1 || evs[0].User != "a" {
		t.Fatalf("%v %+v", err, evs)
	}
	if evs, err := p.Parse(nil, []byte("   ")); err != nil || len(evs) != 0 {
		t.Errorf("blank line: %v %v", evs, err)
	}
	_, err = p.Parse(nil, []byte(`{"@timestamp":"2026-03-02T01:02:03Z","event.action":"login","event.outcome":"success","source.ip":"x"}`))
	if mamori.ErrorFields(err)["source.ip"] == "" {
		t.Errorf("bad address: %v", err)
	}
	if _, err := p.Parse(nil, []byte(`{"@timestamp":`)); err == nil {
		t.Error("truncated JSON accepted")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"@timestamp":"2026-03-02T01:02:03Z","event.action":"login","event.outcome":"failure","user.name":"a"}`))
	f.Add([]byte(`{"@timestamp":"1772413323004","event":{"action":"mfa","outcome":"failure"},"source":{"ip":"2001:db8::1"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := New().Parse(nil, b)
		if err == nil && len(evs) == 1 {
			if verr := evs[0].Validate(); verr != nil {
				t.Fatalf("accepted an invalid event: %v", verr)
			}
		}
	})
}
