// Package detect finds attacks on sign-in in a stream of sign-in events:
// brute force, credential stuffing, password spraying, account enumeration,
// decoy (honeytoken) accounts, privileged and off-hours sign-in. Detectors
// are streaming, keep their memory within configured bounds and use the
// events' own timestamps, so the same engine runs live and over history
// (replay, threshold sweeps). It imports no storage or HTTP: the server
// feeds it events and persists its alerts through a Sink.
package detect

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/mamori-dev/mamori"
)

// Action is what the sign-in event is about (ECS event.action).
type Action string

// The actions the detectors understand. Other values are kept and passed to
// Sigma rules, but the built-in detectors ignore them.
const (
	ActionLogin         Action = "login"
	ActionLogout        Action = "logout"
	ActionPasswordReset Action = "password_reset"
	ActionMFA           Action = "mfa"
	ActionSignup        Action = "signup"
)

// Outcome is ECS event.outcome.
type Outcome string

const (
	OutcomeSuccess Outcome = "success"
	OutcomeFailure Outcome = "failure"
	OutcomeUnknown Outcome = "unknown"
)

// Reason says why an attempt failed (event.reason). Free text is allowed;
// these values carry meaning for the detectors.
type Reason string

const (
	ReasonBadPassword Reason = "bad_password"
	ReasonUnknownUser Reason = "unknown_user"
	ReasonMFAFailed   Reason = "mfa_failed"
	ReasonLocked      Reason = "locked"
	// ReasonUserExists is a sign-up refused because the account exists: the
	// answer an enumerating attacker is looking for.
	ReasonUserExists Reason = "user_exists"
)

// Event is the canonical sign-in event. Its JSON form uses Elastic Common
// Schema field names as flat dotted keys (see MarshalJSON); nested ECS
// objects are accepted on input too.
type Event struct {
	Time      time.Time  // @timestamp
	Action    Action     // event.action
	Outcome   Outcome    // event.outcome
	Reason    Reason     // event.reason
	User      string     // user.name
	Source    netip.Addr // source.ip
	Domain    string     // source.domain: a host name when the log gives no address
	UserAgent string     // user_agent.original
	Service   string     // service.name
	Host      string     // host.name: the machine that logged the event
	// PasswordHMAC is mamori.password_hmac: an HMAC of the attempted
	// password under a key the sender keeps, never the password, so that
	// the same password tried across accounts can be seen.
	PasswordHMAC string
}

// Failed reports whether the event is a failed attempt.
func (e *Event) Failed() bool { return e.Outcome == OutcomeFailure }

// Validate checks the fields a detector relies on. Field names in the error
// are the ECS names.
func (e *Event) Validate() error {
	fe := mamori.FieldErrors{}
	if e.Time.IsZero() {
		fe.Add("@timestamp", "is required")
	} else if y := e.Time.Year(); y < 1970 || y > 2200 {
		fe.Add("@timestamp", "must be between 1970 and 2200")
	}
	switch e.Action {
	case "":
		fe.Add("event.action", "is required")
	}
	switch e.Outcome {
	case OutcomeSuccess, OutcomeFailure, OutcomeUnknown:
	case "":
		fe.Add("event.outcome", "is required")
	default:
		fe.Addf("event.outcome", "must be success, failure or unknown, not %q", clip(string(e.Outcome)))
	}
	if e.User == "" && !e.Source.IsValid() && e.Domain == "" {
		fe.Add("user.name", "user.name or source.ip is required")
	}
	if len(e.User) > maxField {
		fe.Addf("user.name", "is longer than %d bytes", maxField)
	}
	if len(e.UserAgent) > maxUserAgent {
		fe.Addf("user_agent.original", "is longer than %d bytes", maxUserAgent)
	}
	if len(e.PasswordHMAC) > maxField {
		fe.Addf("mamori.password_hmac", "is longer than %d bytes", maxField)
	}
	return fe.Err()
}

const (
	maxField     = 512
	maxUserAgent = 2048
)

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// wireEvent is the canonical flat form; its field order is the canonical
// key order, so json.Marshal of it is deterministic and can be hashed.
type wireEvent struct {
	Timestamp    string `json:"@timestamp"`
	Action       string `json:"event.action,omitempty"`
	Outcome      string `json:"event.outcome,omitempty"`
	Reason       string `json:"event.reason,omitempty"`
	User         string `json:"user.name,omitempty"`
	SourceIP     string `json:"source.ip,omitempty"`
	Domain       string `json:"source.domain,omitempty"`
	UserAgent    string `json:"user_agent.original,omitempty"`
	Service      string `json:"service.name,omitempty"`
	Host         string `json:"host.name,omitempty"`
	PasswordHMAC string `json:"mamori.password_hmac,omitempty"`
}

// inEvent accepts both flat dotted keys and nested ECS objects.
type inEvent struct {
	wireEvent
	Event *struct {
		Action  string `json:"action"`
		Outcome string `json:"outcome"`
		Reason  string `json:"reason"`
	} `json:"event"`
	UserObj *struct {
		Name string `json:"name"`
	} `json:"user"`
	SourceObj *struct {
		IP     string `json:"ip"`
		Domain string `json:"domain"`
	} `json:"source"`
	UAObj *struct {
		Original string `json:"original"`
	} `json:"user_agent"`
	ServiceObj *struct {
		Name string `json:"name"`
	} `json:"service"`
	HostObj *struct {
		Name string `json:"name"`
	} `json:"host"`
	Mamori *struct {
		PasswordHMAC string `json:"password_hmac"`
	} `json:"mamori"`
}

// MarshalJSON writes the canonical form: flat ECS keys in a fixed order,
// empty fields left out, the time in UTC with nanoseconds.
func (e Event) MarshalJSON() ([]byte, error) {
	w := wireEvent{
		Timestamp:    e.Time.UTC().Format(time.RFC3339Nano),
		Action:       string(e.Action),
		Outcome:      string(e.Outcome),
		Reason:       string(e.Reason),
		User:         e.User,
		Domain:       e.Domain,
		UserAgent:    e.UserAgent,
		Service:      e.Service,
		Host:         e.Host,
		PasswordHMAC: e.PasswordHMAC,
	}
	if e.Source.IsValid() {
		w.SourceIP = e.Source.String()
	}
	return json.Marshal(w)
}

// Hash is the SHA-256 of the event's canonical JSON: the identity kept as
// tamper-evident evidence.
func (e Event) Hash() [32]byte {
	b, _ := e.MarshalJSON() // cannot fail: only strings
	return sha256.Sum256(b)
}

// UnmarshalJSON reads one event, flat or nested, and validates it. Errors
// name the ECS field.
func (e *Event) UnmarshalJSON(b []byte) error {
	var in inEvent
	if err := json.Unmarshal(b, &in); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return mamori.Invalid(strings.TrimPrefix(te.Field, "wireEvent."), "has the wrong type: want "+te.Type.String())
		}
		return mamori.Wrap(mamori.EINVALID, err, "The line is not a JSON object.")
	}
	w := in.wireEvent
	if in.Event != nil {
		w.Action = pick(w.Action, in.Event.Action)
		w.Outcome = pick(w.Outcome, in.Event.Outcome)
		w.Reason = pick(w.Reason, in.Event.Reason)
	}
	if in.UserObj != nil {
		w.User = pick(w.User, in.UserObj.Name)
	}
	if in.SourceObj != nil {
		w.SourceIP = pick(w.SourceIP, in.SourceObj.IP)
		w.Domain = pick(w.Domain, in.SourceObj.Domain)
	}
	if in.UAObj != nil {
		w.UserAgent = pick(w.UserAgent, in.UAObj.Original)
	}
	if in.ServiceObj != nil {
		w.Service = pick(w.Service, in.ServiceObj.Name)
	}
	if in.HostObj != nil {
		w.Host = pick(w.Host, in.HostObj.Name)
	}
	if in.Mamori != nil {
		w.PasswordHMAC = pick(w.PasswordHMAC, in.Mamori.PasswordHMAC)
	}
	ev := Event{
		Action:       Action(strings.ToLower(w.Action)),
		Outcome:      Outcome(strings.ToLower(w.Outcome)),
		Reason:       Reason(w.Reason),
		User:         w.User,
		Domain:       w.Domain,
		UserAgent:    w.UserAgent,
		Service:      w.Service,
		Host:         w.Host,
		PasswordHMAC: w.PasswordHMAC,
	}
	fe := mamori.FieldErrors{}
	if w.Timestamp != "" {
		t, err := ParseTime(w.Timestamp)
		if err != nil {
			fe.Add("@timestamp", "must be an RFC 3339 time or epoch milliseconds")
		}
		ev.Time = t
	}
	if w.SourceIP != "" {
		a, err := netip.ParseAddr(w.SourceIP)
		if err != nil {
			fe.Add("source.ip", "is not an IP address")
		}
		ev.Source = a.Unmap()
	}
	if err := fe.Err(); err != nil {
		return err
	}
	if err := ev.Validate(); err != nil {
		return err
	}
	*e = ev
	return nil
}

func pick(flat, nested string) string {
	if flat != "" {
		return flat
	}
	return nested
}

// ParseTime reads RFC 3339 (with or without fraction), or integer epoch
// milliseconds as many collectors send.
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if len(s) >= 10 && len(s) <= 16 && strings.Trim(s, "0123456789") == "" {
		var ms int64
		for _, c := range s {
			ms = ms*10 + int64(c-'0')
		}
		return time.UnixMilli(ms).UTC(), nil
	}
	return time.Time{}, mamori.Errorf(mamori.EINVALID, "%q is not an RFC 3339 time.", clip(s))
}
