package auth

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mamori-dev/mamori"
)

// Account states.
const (
	StatusActive   = "active"
	StatusDisabled = "disabled"
	StatusDeleted  = "deleted"
)

// User is a person who signs in to mamori. The e-mail address is the login ID.
type User struct {
	ID                 string
	Email              string
	DisplayName        string
	Department         string
	Locale             string // "ja", "en" or "" (browser preference)
	PasswordHash       string
	PasswordChangedAt  time.Time
	MustChangePassword bool
	Status             string
	StatusReason       string
	ValidFrom          time.Time // zero: no limit
	ValidUntil         time.Time // zero: no limit
	Decoy              bool      // a honeytoken account: any sign-in attempt is an alert
	LastSignInAt       time.Time
	LastSignInAddr     string
	CreatedAt          time.Time
	UpdatedAt          time.Time
	Version            int
	Roles              []string

	// Loaded for display and decisions; not stored in the users row.
	HasTOTP  bool
	Passkeys int
}

// HasMFA reports whether the user has a second factor.
func (u *User) HasMFA() bool { return u.HasTOTP || u.Passkeys > 0 }

// CanSignIn reports whether the account may sign in at t, and if not, the
// stored reason (never shown to the person signing in).
func (u *User) CanSignIn(t time.Time) (bool, string) {
	switch {
	case u.Status != StatusActive:
		return false, "account_" + u.Status
	case u.Decoy:
		return false, "decoy_account"
	case !u.ValidFrom.IsZero() && t.Before(u.ValidFrom):
		return false, "not_yet_valid"
	case !u.ValidUntil.IsZero() && !t.Before(u.ValidUntil):
		return false, "validity_ended"
	}
	return true, ""
}

// NormalizeEmail trims and lower-cases an address, so one mailbox is one
// account whatever its spelling.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// validateUser checks the editable fields.
func validateUser(u *User) error {
	f := mamori.FieldErrors{}
	if a, err := mail.ParseAddress(u.Email); err != nil || a.Address != u.Email || len(u.Email) > 254 {
		f.Add("email", "Enter a valid e-mail address.")
	}
	if utf8.RuneCountInString(u.DisplayName) > 100 {
		f.Add("display_name", "Use at most 100 characters.")
	}
	if utf8.RuneCountInString(u.Department) > 100 {
		f.Add("department", "Use at most 100 characters.")
	}
	if u.Locale != "" && u.Locale != "ja" && u.Locale != "en" {
		f.Add("locale", "Choose Japanese or English.")
	}
	if !u.ValidFrom.IsZero() && !u.ValidUntil.IsZero() && !u.ValidUntil.After(u.ValidFrom) {
		f.Add("valid_until", "The end of validity must be after its start.")
	}
	for _, r := range u.Roles {
		if _, ok := RoleByID(r); !ok {
			f.Add("roles", "Unknown role.")
		}
	}
	return f.Err()
}

// SignInEvent is one sign-in attempt or related event, kept complete and
// structured: it is the input of the detection capability.
type SignInEvent struct {
	ID         string
	At         time.Time
	UserID     string // "" when the login matched no account
	Login      string // the login ID as typed (normalised)
	Action     string // login, mfa, step_up, password_reset, logout, signup
	Factor     string // password, totp, recovery_code, passkey, reset_link
	Outcome    string // success or failure
	Reason     string // bad_password, unknown_user, mfa_failed, locked, throttled, account_disabled …
	RemoteAddr string
	UserAgent  string
}

// Sign-in event actions, factors and reasons.
const (
	ActionLogin  = "login"
	ActionMFA    = "mfa"
	ActionStepUp = "step_up"
	ActionReset  = "password_reset"
	ActionLogout = "logout"

	FactorPassword = "password"
	FactorTOTP     = "totp"
	FactorRecovery = "recovery_code"
	FactorPasskey  = "passkey"
	FactorReset    = "reset_link"

	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// SignInFilter selects sign-in history.
type SignInFilter struct {
	UserID     string
	Login      string // substring
	RemoteAddr string // prefix
	Outcome    string
	Since      time.Time
	Until      time.Time
	Limit      int
	Offset     int
}

// Client is who is on the other end of a request.
type Client struct {
	Addr      string // IP address
	UserAgent string
	// Session is the hash of the session the browser already holds, if
	// any: a new sign-in revokes it (the session ID rotates at sign-in).
	Session string
}
