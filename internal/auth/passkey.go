package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
)

// Passkey is a registered WebAuthn credential. A user may have several,
// each named, each removable.
type Passkey struct {
	ID         string // base64url credential ID
	UserID     string
	Name       string
	Credential webauthn.Credential
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// waUser adapts a User to the WebAuthn library. The user handle is the
// account ID (a random UUIDv7), never the e-mail address.
type waUser struct {
	u     *User
	creds []webauthn.Credential
}

func (w *waUser) WebAuthnID() []byte                         { return []byte(w.u.ID) }
func (w *waUser) WebAuthnName() string                       { return w.u.Email }
func (w *waUser) WebAuthnDisplayName() string                { return firstNonEmpty(w.u.DisplayName, w.u.Email) }
func (w *waUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func (s *Service) waUserFor(ctx context.Context, u *User) (*waUser, []*Passkey, error) {
	pks, err := s.store.Passkeys(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	w := &waUser{u: u}
	for _, p := range pks {
		w.creds = append(w.creds, p.Credential)
	}
	return w, pks, nil
}

// Ceremony is a WebAuthn challenge for the browser: Options is the JSON the
// page passes to navigator.credentials; Token identifies the server state.
type Ceremony struct {
	Token   string
	Options json.RawMessage
}

func (s *Service) savePending(ctx context.Context, userID, purpose string, data any) (string, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return "", err
	}
	tok := randomToken(32)
	now := s.Now()
	return tok, s.store.CreatePending(ctx, &Pending{IDHash: hashToken(tok), UserID: userID, Purpose: purpose,
		Data: string(b), CreatedAt: now, ExpiresAt: now.Add(pendingLifetime)})
}

func (s *Service) takeSession(ctx context.Context, token, purpose string) (*Pending, *webauthn.SessionData, error) {
	p, err := s.store.TakePending(ctx, hashToken(token), purpose)
	if err != nil || !s.Now().Before(p.ExpiresAt) {
		return nil, nil, mamori.Errorf(mamori.EINVALID, "The passkey request has expired. Please try again.")
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal([]byte(p.Data), &sd); err != nil {
		return nil, nil, err
	}
	return p, &sd, nil
}

// BeginPasskeyRegistration starts registering a passkey for the signed-in
// user. Step-up is required when the user already has a second factor.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, p *Principal) (*Ceremony, error) {
	if s.wa == nil {
		return nil, errNoPasskeys
	}
	if p.User.HasMFA() {
		if _, err := s.requireStepUp(ctx, mamori.Authenticated); err != nil {
			return nil, err
		}
	}
	w, _, err := s.waUserFor(ctx, p.User)
	if err != nil {
		return nil, err
	}
	exclude := make([]protocol.CredentialDescriptor, 0, len(w.creds))
	for _, c := range w.creds {
		exclude = append(exclude, c.Descriptor())
	}
	opts, sd, err := s.wa.BeginRegistration(w,
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithExclusions(exclude),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementRequired,
			UserVerification: protocol.VerificationRequired,
		}))
	if err != nil {
		return nil, fmt.Errorf("begin passkey registration: %w", err)
	}
	tok, err := s.savePending(ctx, p.User.ID, PendingPasskeyRegister, sd)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(opts)
	if err != nil {
		return nil, err
	}
	return &Ceremony{Token: tok, Options: b}, nil
}

// FinishPasskeyRegistration verifies the browser's answer and stores the
// passkey under name.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, p *Principal, token, name string, response []byte) (*Passkey, error) {
	if s.wa == nil {
		return nil, errNoPasskeys
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name = "Passkey"
	}
	if utf8.RuneCountInString(name) > 60 {
		return nil, mamori.Invalid("name", "Use at most 60 characters.")
	}
	pend, sd, err := s.takeSession(ctx, token, PendingPasskeyRegister)
	if err != nil {
		return nil, err
	}
	if pend.UserID != p.User.ID {
		return nil, mamori.Errorf(mamori.EFORBIDDEN, "This passkey request belongs to another session.")
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return nil, mamori.Wrap(mamori.EINVALID, err, "The passkey response could not be read.")
	}
	w, _, err := s.waUserFor(ctx, p.User)
	if err != nil {
		return nil, err
	}
	cred, err := s.wa.CreateCredential(w, *sd, parsed)
	if err != nil {
		return nil, mamori.Wrap(mamori.EINVALID, err, "The passkey could not be verified.")
	}
	pk := &Passkey{ID: base64.RawURLEncoding.EncodeToString(cred.ID), UserID: p.User.ID, Name: name, Credential: *cred, CreatedAt: s.Now()}
	if err := s.store.AddPasskey(ctx, pk, audit.New(ctx, audit.PasskeyAdded, "user", p.User.ID).With("passkey", pk.ID)); err != nil {
		return nil, err
	}
	if !p.User.HasMFA() {
		_ = s.store.SetSessionAuth(ctx, p.Session.IDHash, s.Now(), true, p.Session.Factors+","+FactorPasskey)
	}
	return pk, nil
}

// MyPasskeys lists the signed-in user's passkeys.
func (s *Service) MyPasskeys(ctx context.Context) ([]*Passkey, error) {
	a, err := mamori.Require(ctx, mamori.Authenticated)
	if err != nil {
		return nil, err
	}
	return s.store.Passkeys(ctx, a.UserID)
}

// RemovePasskey removes one of the user's passkeys (step-up required).
func (s *Service) RemovePasskey(ctx context.Context, p *Principal, id string) error {
	if _, err := s.requireStepUp(ctx, mamori.Authenticated); err != nil {
		return err
	}
	if NeedsMFA(p.User.Roles, s.MFAForAll(ctx)) && !p.User.HasTOTP && p.User.Passkeys <= 1 {
		return mamori.Errorf(mamori.ECONFLICT, "Your role requires multi-factor authentication. Keep at least one passkey or set up an authenticator app first.")
	}
	return s.store.DeletePasskey(ctx, p.User.ID, id, audit.New(ctx, audit.PasskeyRemoved, "user", p.User.ID).With("passkey", id))
}

// BeginPasskeyMFA starts the second-factor step of a password sign-in.
func (s *Service) BeginPasskeyMFA(ctx context.Context, mfaToken string) (*Ceremony, error) {
	if s.wa == nil {
		return nil, errNoPasskeys
	}
	u, _, err := s.takeMFAPending(ctx, mfaToken, false)
	if err != nil {
		return nil, err
	}
	w, _, err := s.waUserFor(ctx, u)
	if err != nil {
		return nil, err
	}
	opts, sd, err := s.wa.BeginLogin(w, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return nil, mamori.Wrap(mamori.EINVALID, err, "No passkey is registered.")
	}
	return s.ceremony(ctx, u.ID, PendingPasskeyLogin, sd, opts)
}

func (s *Service) ceremony(ctx context.Context, userID, purpose string, sd *webauthn.SessionData, opts any) (*Ceremony, error) {
	tok, err := s.savePending(ctx, userID, purpose, sd)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(opts)
	if err != nil {
		return nil, err
	}
	return &Ceremony{Token: tok, Options: b}, nil
}

// FinishPasskeyMFA completes a password sign-in with a passkey.
func (s *Service) FinishPasskeyMFA(ctx context.Context, mfaToken, ceremonyToken string, response []byte, c Client) (*NewSession, error) {
	if s.wa == nil {
		return nil, errNoPasskeys
	}
	u, _, err := s.takeMFAPending(ctx, mfaToken, false)
	if err != nil {
		return nil, err
	}
	ev := &SignInEvent{UserID: u.ID, Login: u.Email, Action: ActionMFA, Factor: FactorPasskey, RemoteAddr: c.Addr, UserAgent: truncate(c.UserAgent, 512)}
	pend, sd, err := s.takeSession(ctx, ceremonyToken, PendingPasskeyLogin)
	if err != nil {
		return nil, err
	}
	if pend.UserID != u.ID {
		return nil, ErrSessionEnded
	}
	w, pks, err := s.waUserFor(ctx, u)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		s.fail(ctx, ev, "mfa_failed", true)
		return nil, errCodeFailed
	}
	cred, err := s.wa.ValidateLogin(w, *sd, parsed)
	if err != nil {
		s.fail(ctx, ev, "mfa_failed", true)
		return nil, errCodeFailed
	}
	s.touchPasskey(ctx, pks, cred)
	if _, _, err := s.takeMFAPending(ctx, mfaToken, true); err != nil {
		return nil, err
	}
	return s.completeSignIn(ctx, u, c, []string{FactorPassword, FactorPasskey}, true)
}

func (s *Service) touchPasskey(ctx context.Context, pks []*Passkey, cred *webauthn.Credential) {
	for _, p := range pks {
		if bytes.Equal(p.Credential.ID, cred.ID) {
			p.Credential = *cred
			p.LastUsedAt = s.Now()
			_ = s.store.UpdatePasskeyUse(ctx, p)
			return
		}
	}
}

// BeginPasskeySignIn starts a passwordless sign-in with a discoverable
// credential: the browser offers the user's passkeys for this site.
func (s *Service) BeginPasskeySignIn(ctx context.Context) (*Ceremony, error) {
	if s.wa == nil {
		return nil, errNoPasskeys
	}
	opts, sd, err := s.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, fmt.Errorf("begin passkey sign-in: %w", err)
	}
	return s.ceremony(ctx, "", PendingPasskeyLogin, sd, opts)
}

// FinishPasskeySignIn completes a passwordless sign-in. A passkey with user
// verification proves possession and a PIN or biometric: two factors.
func (s *Service) FinishPasskeySignIn(ctx context.Context, ceremonyToken string, response []byte, c Client) (*NewSession, error) {
	if s.wa == nil {
		return nil, errNoPasskeys
	}
	ev := &SignInEvent{Action: ActionLogin, Factor: FactorPasskey, RemoteAddr: c.Addr, UserAgent: truncate(c.UserAgent, 512)}
	if _, err := s.checkThrottles(ctx, addrKey(c.Addr)); err != nil {
		s.fail(ctx, ev, "throttled", false)
		return nil, err
	}
	_, sd, err := s.takeSession(ctx, ceremonyToken, PendingPasskeyLogin)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		s.fail(ctx, ev, "bad_passkey", true)
		return nil, errCodeFailed
	}
	var found *User
	var foundKeys []*Passkey
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		u, err := s.store.UserByID(ctx, string(userHandle))
		if err != nil {
			return nil, err
		}
		w, pks, err := s.waUserFor(ctx, u)
		if err != nil {
			return nil, err
		}
		found, foundKeys = u, pks
		return w, nil
	}
	cred, err := s.wa.ValidateDiscoverableLogin(handler, *sd, parsed)
	if err != nil || found == nil {
		if found != nil {
			ev.UserID, ev.Login = found.ID, found.Email
		}
		s.fail(ctx, ev, "bad_passkey", found != nil)
		return nil, errCodeFailed
	}
	ev.UserID, ev.Login = found.ID, found.Email
	if can, reason := found.CanSignIn(s.Now()); !can {
		s.fail(ctx, ev, reason, true)
		return nil, errCodeFailed
	}
	s.touchPasskey(ctx, foundKeys, cred)
	return s.completeSignIn(ctx, found, c, []string{FactorPasskey}, true)
}

// BeginPasskeyStepUp starts re-authentication with a passkey.
func (s *Service) BeginPasskeyStepUp(ctx context.Context, p *Principal) (*Ceremony, error) {
	if s.wa == nil {
		return nil, errNoPasskeys
	}
	w, _, err := s.waUserFor(ctx, p.User)
	if err != nil {
		return nil, err
	}
	opts, sd, err := s.wa.BeginLogin(w, webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, mamori.Wrap(mamori.EINVALID, err, "No passkey is registered.")
	}
	return s.ceremony(ctx, p.User.ID, PendingPasskeyStepUp, sd, opts)
}

// FinishPasskeyStepUp completes re-authentication with a passkey.
func (s *Service) FinishPasskeyStepUp(ctx context.Context, p *Principal, token string, response []byte, c Client) error {
	if s.wa == nil {
		return errNoPasskeys
	}
	ev := &SignInEvent{UserID: p.User.ID, Login: p.User.Email, Action: ActionStepUp, Factor: FactorPasskey, RemoteAddr: c.Addr, UserAgent: truncate(c.UserAgent, 512)}
	pend, sd, err := s.takeSession(ctx, token, PendingPasskeyStepUp)
	if err != nil {
		return err
	}
	if pend.UserID != p.User.ID {
		return mamori.Errorf(mamori.EFORBIDDEN, "This passkey request belongs to another session.")
	}
	w, pks, err := s.waUserFor(ctx, p.User)
	if err != nil {
		return err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		s.fail(ctx, ev, "bad_passkey", true)
		return errCodeFailed
	}
	cred, err := s.wa.ValidateLogin(w, *sd, parsed)
	if err != nil {
		s.fail(ctx, ev, "bad_passkey", true)
		return errCodeFailed
	}
	s.touchPasskey(ctx, pks, cred)
	ev.Outcome = OutcomeSuccess
	s.record(ctx, ev, false)
	return s.store.SetSessionAuth(ctx, p.Session.IDHash, s.Now(), true, FactorPasskey,
		audit.New(ctx, audit.StepUpSucceeded, "user", p.User.ID))
}
