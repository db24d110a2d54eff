package detect_test

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/detect"
)

func TestEventJSON(t *testing.T) {
	want := detect.Event{Time: time.Date(2026, 3, 2, 1, 2, 3, 4000000, time.UTC), Action: detect.ActionLogin,
		Outcome: detect.OutcomeFailure, Reason: detect.ReasonBadPassword, User: "alice", Source: netip.MustParseAddr("192.0.2.7"),
		UserAgent: "curl/8", Service: "netbank", PasswordHMAC: "abc"}
	for name, in := range map[string]string{
		"flat":   `{"@timestamp":"2026-03-02T10:02:03.004+09:00","event.action":"login","event.outcome":"failure","event.reason":"bad_password","user.name":"alice","source.ip":"192.0.2.7","user_agent.original":"curl/8","service.name":"netbank","mamori.password_hmac":"abc"}`,
		"nested": `{"@timestamp":"2026-03-02T01:02:03.004Z","event":{"action":"LOGIN","outcome":"failure","reason":"bad_password"},"user":{"name":"alice"},"source":{"ip":"::ffff:192.0.2.7"},"user_agent":{"original":"curl/8"},"service":{"name":"netbank"},"mamori":{"password_hmac":"abc"}}`,
		"epoch":  `{"@timestamp":"1772413323004","event.action":"login","event.outcome":"failure","event.reason":"bad_password","user.name":"alice","source.ip":"192.0.2.7","user_agent.original":"curl/8","service.name":"netbank","mamori.password_hmac":"abc"}`,
	} {
		t.Run(name, func(t *testing.T) {
			var ev detect.Event
			if err := json.Unmarshal([]byte(in), &ev); err != nil {
				t.Fatal(err)
			}
			if ev != want {
				t.Errorf("got  %+v\nwant %+v", ev, want)
			}
		})
	}
	b, _ := json.Marshal(want)
	const canonical = `{"@timestamp":"2026-03-02T01:02:03.004Z","event.action":"login","event.outcome":"failure","event.reason":"bad_password","user.name":"alice","source.ip":"192.0.2.7","user_agent.original":"curl/8","service.name":"netbank","mamori.password_hmac":"abc"}`
	if string(b) != canonical {
		t.Errorf("canonical form\n got %s\nwant %s", b, canonical)
	}
	if want.Hash() != want.Hash() || want.Hash() == (detect.Event{}).Hash() {
		t.Error("hash is not a stable function of the event")
	}
}

func TestEventJSONErrors(t *testing.T) {
	tests := []struct{ in, field string }{
		{`{"event.action":"login","event.outcome":"failure","user.name":"a"}`, "@timestamp"},
		{`{"@timestamp":"yesterday","event.action":"login","event.outcome":"failure","user.name":"a"}`, "@timestamp"},
		{`{"@timestamp":"2026-03-02T01:02:03Z","event.outcome":"failure","user.name":"a"}`, "event.action"},
		{`{"@timestamp":"2026-03-02T01:02:03Z","event.action":"login","event.outcome":"maybe","user.name":"a"}`, "event.outcome"},
		{`{"@timestamp":"2026-03-02T01:02:03Z","event.action":"login","event.outcome":"failure","source.ip":"999.1.1.1"}`, "source.ip"},
		{`{"@timestamp":"2026-03-02T01:02:03Z","event.action":"login","event.outcome":"failure"}`, "user.name"},
		{`{"@timestamp":"2026-03-02T01:02:03Z","event.action":"login","event.outcome":"failure","user.name":5}`, "user.name"},
	}
	for _, tt := range tests {
		var ev detect.Event
		err := json.Unmarshal([]byte(tt.in), &ev)
		if mamori.ErrorFields(err)[tt.field] == "" {
			t.Errorf("%s: want an error naming %s, got %v", tt.in, tt.field, err)
		}
	}
	var ev detect.Event
	if err := ev.UnmarshalJSON([]byte(`not json`)); mamori.ErrorCode(err) != mamori.EINVALID {
		t.Errorf("not JSON: %v", err)
	}
}

func FuzzEventJSON(f *testing.F) {
	f.Add([]byte(`{"@timestamp":"2026-03-02T01:02:03Z","event.action":"login","event.outcome":"failure","user.name":"a","source.ip":"192.0.2.1"}`))
	f.Add([]byte(`{"@timestamp":"1772413323004","event":{"action":"signup","outcome":"success"},"user":{"name":"b"}}`))
	f.Add([]byte(`{"@timestamp":1,"user":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev detect.Event
		if err := ev.UnmarshalJSON(b); err != nil {
			return
		}
		// A valid event survives its canonical form unchanged.
		out, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		var again detect.Event
		if err := again.UnmarshalJSON(out); err != nil {
			t.Fatalf("canonical form %s does not parse: %v", out, err)
		}
		if again.Hash() != ev.Hash() {
			t.Fatalf("round trip changed the event: %s", out)
		}
	})
}
