// Package mamori is the kernel of the mamori cybersecurity management system:
// the application error type, permissions, the acting user carried in a
// context, identifiers and the clock. It imports only the standard library
// (and a UUID generator), so every other package may depend on it.
package mamori

import (
	"time"

	"github.com/google/uuid"
)

// NewID returns a new identifier: a UUIDv7 in its canonical text form.
// Version 7 sorts by creation time, which keeps B-tree inserts local.
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// uuid.NewV7 fails only when the system random source fails,
		// and then nothing security-relevant can continue.
		panic("mamori: random source failed: " + err.Error())
	}
	return id.String()
}

// ValidID reports whether s is a UUID in canonical text form.
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// Clock returns the current time. Services take a Clock so tests can fix time.
type Clock func() time.Time

// SystemClock is the real clock, in UTC.
func SystemClock() time.Time { return time.Now().UTC() }
