// Package keycloak reads Keycloak user events: the JSON representation
// (one object per line, or the array the admin API returns for
// GET /admin/realms/{realm}/events), Quarkus JSON log lines whose message
// holds the event, and the plain jboss-logging event lines
// ("type=LOGIN_ERROR, realmId=…, ipAddress=…, error=user_not_found, username=…").
package keycloak

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/mamori-dev/mamori/internal/detect"
)

// Parser reads Keycloak event lines. Location is the zone of log-line
// timestamps that carry none.
type Parser struct {
	Location *time.Location
}

// New returns a parser.
func New(loc *time.Location) *Parser { return &Parser{Location: loc} }

// event is Keycloak's EventRepresentation.
type event struct {
	Time      int64             `json:"time"`
	Type      string            `json:"type"`
	RealmID   string            `json:"realmId"`
	ClientID  string            `json:"clientId"`
	UserID    string            `json:"userId"`
	IPAddress string            `json:"ipAddress"`
	Error     string            `json:"error"`
	Details   map[string]string `json:"details"`
}

// logLine is a Quarkus JSON log line.
type logLine struct {
	Timestamp  string `json:"timestamp"`
	LoggerName string `json:"loggerName"`
	Message    string `json:"message"`
}

// Parse implements detect.Parser.
func (p *Parser) Parse(dst []detect.Event, line []byte) ([]detect.Event, error) {
	return p.ParseAt(dst, line, time.Time{})
}

// ParseAt is Parse for a line whose time, if it carries none, is at (the
// syslog header's time when the event came through syslog).
func (p *Parser) ParseAt(dst []detect.Event, line []byte, at time.Time) ([]detect.Event, error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return dst, nil
	}
	switch line[0] {
	case '[':
		var evs []event
		if err := json.Unmarshal(line, &evs); err != nil {
			return dst, fmt.Errorf("malformed Keycloak event array: %w", err)
		}
		var firstErr error
		for i := range evs {
			var err error
			if dst, err = p.add(dst, &evs[i], time.Time{}); err != nil && firstErr == nil {
				firstErr = fmt.Errorf("event %d: %w", i+1, err)
			}
		}
		return dst, firstErr
	case '{':
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(line, &raw); err != nil {
			return dst, fmt.Errorf("malformed Keycloak JSON: %w", err)
		}
		if _, ok := raw["type"]; ok {
			var ev event
			if err := json.Unmarshal(line, &ev); err != nil {
				return dst, fmt.Errorf("malformed Keycloak event: %w", err)
			}
			return p.add(dst, &ev, time.Time{})
		}
		var l logLine
		if err := json.Unmarshal(line, &l); err != nil {
			return dst, fmt.Errorf("malformed Keycloak log line: %w", err)
		}
		if !strings.Contains(l.Message, "type=") {
			return dst, nil
		}
		t, err := time.Parse(time.RFC3339Nano, l.Timestamp)
		if err != nil {
			t = at
		}
		ev := fromKV(l.Message)
		return p.add(dst, &ev, t)
	}
	i := bytes.Index(line, []byte("type="))
	if i < 0 {
		return dst, nil
	}
	ev := fromKV(string(line[i:]))
	t := at
	// "2024-05-01 10:00:00,123 WARN [org.keycloak.events] …"
	if len(line) >= 23 {
		loc := p.Location
		if loc == nil {
			loc = time.UTC
		}
		if x, err := time.ParseInLocation("2006-01-02 15:04:05,000", string(line[:23]), loc); err == nil {
			t = x
		} else if x, err := time.ParseInLocation("2006-01-02 15:04:05", string(line[:19]), loc); err == nil {
			t = x
		}
	}
	return p.add(dst, &ev, t)
}

// fromKV reads `type=LOGIN_ERROR, realmId=x, …` with optional quotes.
func fromKV(s string) event {
	ev := event{Details: map[string]string{}}
	for _, part := range splitKV(s) {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		v = strings.Trim(strings.TrimSpace(v), `"`)
		if v == "null" {
			v = ""
		}
		switch k {
		case "type":
			ev.Type = v
		case "realmId", "realmName":
			if ev.RealmID == "" || k == "realmName" {
				ev.RealmID = v
			}
		case "clientId":
			ev.ClientID = v
		case "userId":
			ev.UserID = v
		case "ipAddress":
			ev.IPAddress = v
		case "error":
			ev.Error = v
		default:
			ev.Details[k] = v
		}
	}
	return ev
}

// splitKV splits on ", " outside double quotes.
func splitKV(s string) []string {
	var out []string
	inQ, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			inQ = !inQ
		case ',':
			if !inQ {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// actions maps event types to (action, outcome).
var actions = map[string]struct {
	a detect.Action
	o detect.Outcome
}{
	"LOGIN":                     {detect.ActionLogin, detect.OutcomeSuccess},
	"LOGIN_ERROR":               {detect.ActionLogin, detect.OutcomeFailure},
	"LOGOUT":                    {detect.ActionLogout, detect.OutcomeSuccess},
	"REGISTER":                  {detect.ActionSignup, detect.OutcomeSuccess},
	"REGISTER_ERROR":            {detect.ActionSignup, detect.OutcomeFailure},
	"RESET_PASSWORD":            {detect.ActionPasswordReset, detect.OutcomeSuccess},
	"RESET_PASSWORD_ERROR":      {detect.ActionPasswordReset, detect.OutcomeFailure},
	"SEND_RESET_PASSWORD":       {detect.ActionPasswordReset, detect.OutcomeSuccess},
	"SEND_RESET_PASSWORD_ERROR": {detect.ActionPasswordReset, detect.OutcomeFailure},
	"UPDATE_TOTP_ERROR":         {detect.ActionMFA, detect.OutcomeFailure},
}

// reasons maps Keycloak error codes to event.reason.
var reasons = map[string]detect.Reason{
	"user_not_found":                 detect.ReasonUnknownUser,
	"invalid_user_credentials":       detect.ReasonBadPassword,
	"user_disabled":                  detect.ReasonLocked,
	"user_temporarily_disabled":      detect.ReasonLocked,
	"username_in_use":                detect.ReasonUserExists,
	"email_in_use":                   detect.ReasonUserExists,
	"invalid_totp":                   detect.ReasonMFAFailed,
	"invalid_authentication_session": "invalid_session",
}

func (p *Parser) add(dst []detect.Event, e *event, logTime time.Time) ([]detect.Event, error) {
	m, ok := actions[e.Type]
	if !ok {
		if e.Type == "" {
			return dst, fmt.Errorf("malformed Keycloak event: no type")
		}
		return dst, nil // token exchanges and the like are not sign-in
	}
	ev := detect.Event{Action: m.a, Outcome: m.o, Service: "keycloak"}
	if e.RealmID != "" {
		ev.Service = "keycloak/" + e.RealmID
	}
	switch {
	case e.Time > 0:
		ev.Time = time.UnixMilli(e.Time).UTC()
	case !logTime.IsZero():
		ev.Time = logTime.UTC()
	default:
		return dst, fmt.Errorf("malformed Keycloak event: no time")
	}
	if e.Error != "" {
		if r, ok := reasons[e.Error]; ok {
			ev.Reason = r
		} else {
			ev.Reason = detect.Reason(e.Error)
		}
	}
	ev.User = e.Details["username"]
	if ev.User == "" {
		ev.User = e.UserID
	}
	if e.IPAddress != "" {
		a, err := netip.ParseAddr(e.IPAddress)
		if err != nil {
			return dst, fmt.Errorf("malformed Keycloak event: ipAddress %q is not an address", e.IPAddress)
		}
		ev.Source = a.Unmap()
	}
	if ev.User == "" && !ev.Source.IsValid() {
		return dst, fmt.Errorf("malformed Keycloak event: neither user nor address")
	}
	return append(dst, ev), nil
}

// Flush implements detect.Parser.
func (p *Parser) Flush(dst []detect.Event) []detect.Event { return dst }
