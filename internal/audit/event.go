// Package audit defines mamori's audit trail: typed events with stable codes,
// written in the same transaction as the change they record, and hashed as
// the leaves of an RFC 6962 Merkle tree so that any later change, removal,
// insertion or reordering is detectable.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/mamori-dev/mamori"
)

// Outcome says how the recorded action ended.
type Outcome string

const (
	Success Outcome = "success"
	Failure Outcome = "failure"
	Denied  Outcome = "denied"
)

// Event is one audit record. Details hold names of changed fields and other
// non-secret context; never passwords, tokens, secrets or personal values.
type Event struct {
	Seq        int64 // leaf index, assigned by the store
	ID         string
	Time       time.Time
	Type       Type
	Code       string
	ActorID    string
	RemoteAddr string
	RequestID  string
	TargetType string
	TargetID   string
	Outcome    Outcome
	Details    map[string]any
}

// New returns an event of type t about a target, with the actor and request
// taken from ctx. Time, ID, code and sequence are set when it is stored.
func New(ctx context.Context, t Type, targetType, targetID string) Event {
	e := Event{Type: t, TargetType: targetType, TargetID: targetID, Outcome: Success}
	if a := mamori.ActorFrom(ctx); a != nil {
		e.ActorID = a.ID()
		e.RemoteAddr = a.RemoteAddr
		e.RequestID = a.RequestID
	}
	return e
}

// With returns e with a detail added.
func (e Event) With(key string, value any) Event {
	d := make(map[string]any, len(e.Details)+1)
	for k, v := range e.Details {
		d[k] = v
	}
	d[key] = value
	e.Details = d
	return e
}

// Fields returns e recording which fields changed (their names only).
func (e Event) Fields(names ...string) Event {
	if len(names) == 0 {
		return e
	}
	s := append([]string(nil), names...)
	sort.Strings(s)
	return e.With("fields", s)
}

// WithOutcome returns e with another outcome.
func (e Event) WithOutcome(o Outcome) Event {
	e.Outcome = o
	return e
}

// Prepare checks e against the registry and fills in what the store would:
// the final stop before an event is written.
func (e *Event) Prepare(seq int64, now time.Time) error {
	def, ok := Lookup(e.Type)
	if !ok {
		return fmt.Errorf("audit: event type %q is not registered", e.Type)
	}
	if e.Outcome == "" {
		e.Outcome = Success
	}
	if e.ID == "" {
		e.ID = mamori.NewID()
	}
	e.Code = def.Code
	e.Seq = seq
	e.Time = now.UTC().Truncate(time.Microsecond)
	return nil
}

// DetailsJSON is the stored form of the details: JSON with sorted keys.
func (e *Event) DetailsJSON() (string, error) {
	if len(e.Details) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(e.Details)
	if err != nil {
		return "", fmt.Errorf("audit: details of %s: %w", e.Type, err)
	}
	return string(b), nil
}

// TimeLayout is the canonical time form inside leaves.
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// Canonical returns the bytes hashed into the Merkle leaf: every stored
// field, including the sequence number (so that reordering changes leaves),
// in a fixed order. details is the stored JSON text.
func (e *Event) Canonical(details string) []byte {
	type leaf struct {
		V          int    `json:"v"`
		Seq        int64  `json:"seq"`
		ID         string `json:"id"`
		Time       string `json:"time"`
		Type       string `json:"type"`
		Code       string `json:"code"`
		Actor      string `json:"actor"`
		RemoteAddr string `json:"remote_addr"`
		RequestID  string `json:"request_id"`
		TargetType string `json:"target_type"`
		TargetID   string `json:"target_id"`
		Outcome    string `json:"outcome"`
		Details    string `json:"details"`
	}
	b, _ := json.Marshal(leaf{1, e.Seq, e.ID, e.Time.UTC().Format(TimeLayout), string(e.Type), e.Code, e.ActorID,
		e.RemoteAddr, e.RequestID, e.TargetType, e.TargetID, string(e.Outcome), details})
	return b
}

// LeafHash is the RFC 6962 leaf hash: SHA-256(0x00 || data).
func LeafHash(data []byte) []byte {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(data)
	return h.Sum(nil)
}
