package detect

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// AlertType names what was detected.
type AlertType string

const (
	TypeBruteForce  AlertType = "brute_force"
	TypeStuffing    AlertType = "credential_stuffing"
	TypeSpraying    AlertType = "password_spraying"
	TypeEnumeration AlertType = "account_enumeration"
	TypeDecoy       AlertType = "decoy_account"
	TypePrivileged  AlertType = "privileged_signin"
	TypeOffHours    AlertType = "off_hours_signin"
	// TypeSigma is raised by a loaded Sigma rule; Alert.Rule names it.
	TypeSigma AlertType = "sigma"
)

// Types lists every alert type, for menus and validation.
func Types() []AlertType {
	return []AlertType{TypeBruteForce, TypeStuffing, TypeSpraying, TypeEnumeration, TypeDecoy, TypePrivileged, TypeOffHours, TypeSigma}
}

func knownType(t AlertType) bool {
	for _, k := range Types() {
		if k == t {
			return true
		}
	}
	return false
}

// Severity orders alerts; its text form is used in JSON.
type Severity int

const (
	SeverityInfo Severity = iota
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return "unknown"
	}
	return severityNames[s]
}

func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	*s = v
	return err
}

// ParseSeverity reads a severity name; Sigma's "informational" is info.
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(s) {
	case "info", "informational":
		return SeverityInfo, nil
	}
	for i, n := range severityNames {
		if n == strings.ToLower(s) {
			return Severity(i), nil
		}
	}
	return SeverityInfo, fmt.Errorf("%q is not a severity (info, low, medium, high, critical)", s)
}

// Status is where an alert stands in triage. The engine opens alerts as
// new; people move them on (the store keeps that).
type Status string

const (
	StatusNew           Status = "new"
	StatusAcknowledged  Status = "acknowledged"
	StatusResolved      Status = "resolved"
	StatusFalsePositive Status = "false_positive"
)

// Scope says what an alert is keyed on.
type Scope string

const (
	ScopeAccount     Scope = "account"
	ScopeSource      Scope = "source"
	ScopeSubnet      Scope = "subnet"
	ScopeUserAgent   Scope = "user_agent"
	ScopeFingerprint Scope = "password_fingerprint"
	ScopeGlobal      Scope = "global"
	ScopeRule        Scope = "rule"
)

// Alert is one detected attack. The engine hands the same alert (same ID)
// to its Sink again as it grows, and a last time with Final set.
type Alert struct {
	ID       string    `json:"id"`
	Type     AlertType `json:"type"`
	Severity Severity  `json:"severity"`
	Status   Status    `json:"status"`
	// Scope and Key are what the alert was first raised on, e.g. account
	// "root" or source "192.0.2.7".
	Scope   Scope  `json:"scope"`
	Key     string `json:"key"`
	Summary string `json:"summary"`
	// Rule is the Sigma rule (title and id) for TypeSigma.
	Rule  string    `json:"rule,omitempty"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Sources and Accounts are capped lists (Config.Alerts); SourceCount
	// and AccountCount keep counting past the cap (approximately, with a
	// HyperLogLog sketch, once past it).
	Sources      []netip.Addr `json:"sources"`
	SourceCount  int          `json:"source_count"`
	Accounts     []string     `json:"accounts"`
	AccountCount int          `json:"account_count"`
	// Compromised are accounts that signed in successfully as part of the
	// attack: their passwords should be reset.
	Compromised []string `json:"compromised,omitempty"`
	// Events counts the evidence events. Evidence holds the SHA-256 of the
	// canonical JSON of each of the first Config.Alerts.MaxEvidence of
	// them, and EvidenceDigest the SHA-256 over those hashes in order, so
	// kept events can later be proven unchanged.
	Events         int      `json:"events"`
	Evidence       []string `json:"evidence"`
	EvidenceDigest string   `json:"evidence_digest"`
	// Final is set when the engine will not extend the alert any more.
	Final bool `json:"final"`
	// MergedInto is set (with Final) when a broader alert absorbed this
	// one: the same attack seen first from one address, then as a whole.
	// Its evidence is in that alert; a store may hide this one.
	MergedInto string `json:"merged_into,omitempty"`
}

// Sink receives alerts as they open, grow and end. It is called from the
// goroutine feeding the engine, so it should be quick (queue the write).
// The same ID arrives several times: treat each call as an upsert.
type Sink interface {
	Alert(a Alert) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(Alert) error

func (f SinkFunc) Alert(a Alert) error { return f(a) }

// Finding is what a detector reports: an attack seen now. The engine merges
// findings into alerts; a detector reports again for every further event of
// an attack it is already reporting, with just that event.
type Finding struct {
	Type     AlertType
	Severity Severity
	Scope    Scope
	Key      string
	Summary  string
	Rule     string
	// Events are the event numbers (as given to Observe) that are evidence.
	Events      []uint64
	Sources     []netip.Addr
	Accounts    []string
	Compromised []string
	// Hold is how long after its last event the detector may still extend
	// this attack (its window); the alert stays open at least that long.
	Hold time.Duration
}

func (f *Finding) reset() {
	*f = Finding{Events: f.Events[:0], Sources: f.Sources[:0], Accounts: f.Accounts[:0], Compromised: f.Compromised[:0]}
}

// ReplayAlert is the short form printed by "mamori detect replay".
type ReplayAlert struct {
	Type        AlertType `json:"type"`
	Severity    Severity  `json:"severity"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Sources     []string  `json:"sources"`
	Accounts    []string  `json:"accounts"`
	Events      int       `json:"events"`
	Compromised []string  `json:"compromised,omitempty"`
}

// Short returns the replay form of a.
func (a *Alert) Short() ReplayAlert {
	r := ReplayAlert{Type: a.Type, Severity: a.Severity, Start: a.Start, End: a.End,
		Sources: make([]string, len(a.Sources)), Accounts: a.Accounts, Events: a.Events, Compromised: a.Compromised}
	for i, s := range a.Sources {
		r.Sources[i] = s.String()
	}
	if r.Accounts == nil {
		r.Accounts = []string{}
	}
	return r
}

// MarshalJSON keeps empty lists as [] rather than null for consumers.
func (a Alert) MarshalJSON() ([]byte, error) {
	type plain Alert
	p := plain(a)
	if p.Sources == nil {
		p.Sources = []netip.Addr{}
	}
	if p.Accounts == nil {
		p.Accounts = []string{}
	}
	if p.Evidence == nil {
		p.Evidence = []string{}
	}
	return json.Marshal(p)
}
