package auth

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
)

// errSignInFailed is the one answer to every failed sign-in, whatever the
// reason: unknown account, wrong password, disabled account, decoy.
var errSignInFailed = mamori.Errorf(mamori.EUNAUTHENTICATED, "The e-mail address or password is incorrect.")

// errCodeFailed is the answer to a wrong second factor.
var errCodeFailed = mamori.Errorf(mamori.EUNAUTHENTICATED, "The code is incorrect or has already been used.")

// SignInResult says what happens after a correct password.
type SignInResult struct {
	// Session is set when the user is signed in (possibly restricted to
	// enrolling MFA or changing the password).
	Session *NewSession
	// MFAToken is set when a second factor is needed; it goes into a
	// short-lived cookie for the next step.
	MFAToken string
	// MFAMethods lists the factors the user can use: "totp", "passkey".
	MFAMethods []string
}

// SignIn checks a password. Unknown and known accounts are answered alike,
// in similar time (an unknown account is checked against a dummy hash).
func (s *Service) SignIn(ctx context.Context, login, password string, c Client) (*SignInResult, error) {
	login = NormalizeEmail(login)
	ev := &SignInEvent{Login: truncate(login, 254), Action: ActionLogin, Factor: FactorPassword, RemoteAddr: c.Addr, UserAgent: truncate(c.UserAgent, 512)}
	if login == "" || password == "" {
		f := mamori.FieldErrors{}
		if login == "" {
			f.Add("email", "Enter your e-mail address.")
		}
		if password == "" {
			f.Add("password", "Enter your password.")
		}
		return nil, f.Err()
	}
	if len(password) > 4*MaxPasswordLen {
		password = password[:4*MaxPasswordLen]
	}
	if _, err := s.checkThrottles(ctx, loginKey(login), addrKey(c.Addr)); err != nil {
		// Locked: no password check, but still the same cost, so a locked
		// account does not answer faster than an unknown one.
		VerifyPassword(password, s.dummyHash(), s.cfg.Argon2)
		s.fail(ctx, ev, "throttled", false)
		return nil, err
	}
	u, err := s.store.UserByEmail(ctx, login)
	if err != nil {
		if mamori.ErrorCode(err) != mamori.ENOTFOUND {
			return nil, err
		}
		VerifyPassword(password, s.dummyHash(), s.cfg.Argon2)
		s.fail(ctx, ev, "unknown_user", true)
		return nil, errSignInFailed
	}
	ev.UserID = u.ID
	ok, rehash := VerifyPassword(password, u.PasswordHash, s.cfg.Argon2)
	if !ok {
		s.fail(ctx, ev, "bad_password", true)
		return nil, errSignInFailed
	}
	if can, reason := u.CanSignIn(s.Now()); !can {
		s.fail(ctx, ev, reason, true)
		return nil, errSignInFailed
	}
	if rehash {
		if h, err := HashPassword(password, s.cfg.Argon2); err == nil {
			_ = s.store.SetPassword(ctx, u.ID, h, u.MustChangePassword)
		}
	}
	s.clearLoginThrottle(ctx, login)
	if u.HasMFA() {
		tok := randomToken(32)
		now := s.Now()
		if err := s.store.CreatePending(ctx, &Pending{IDHash: hashToken(tok), UserID: u.ID, Purpose: PendingMFA,
			CreatedAt: now, ExpiresAt: now.Add(pendingLifetime)}); err != nil {
			return nil, err
		}
		var methods []string
		if u.HasTOTP {
			methods = append(methods, FactorTOTP)
		}
		if u.Passkeys > 0 {
			methods = append(methods, FactorPasskey)
		}
		// The password step is recorded as a success of its own, so the
		// history shows where a sign-in stopped.
		ev.Outcome, ev.Reason = OutcomeSuccess, "mfa_required"
		s.record(ctx, ev, false)
		return &SignInResult{MFAToken: tok, MFAMethods: methods}, nil
	}
	sess, err := s.completeSignIn(ctx, u, c, []string{FactorPassword}, false)
	if err != nil {
		return nil, err
	}
	return &SignInResult{Session: sess}, nil
}

// completeSignIn records the success and creates the session.
func (s *Service) completeSignIn(ctx context.Context, u *User, c Client, factors []string, mfa bool) (*NewSession, error) {
	ev := &SignInEvent{ID: mamori.NewID(), At: s.Now(), UserID: u.ID, Login: u.Email, Action: ActionLogin,
		Factor: strings.Join(factors, "+"), Outcome: OutcomeSuccess, RemoteAddr: c.Addr, UserAgent: truncate(c.UserAgent, 512)}
	actx := mamori.WithActor(ctx, &mamori.Actor{UserID: u.ID, RemoteAddr: c.Addr, RequestID: requestIDFrom(ctx)})
	aev := audit.New(actx, audit.SignInSucceeded, "user", u.ID).With("factors", factors)
	if err := s.store.RecordSignIn(ctx, ev, true); err != nil {
		return nil, err
	}
	sess, err := s.startSession(ctx, u, c, factors, mfa, c.Session, aev)
	if err != nil {
		return nil, err
	}
	for _, r := range u.Roles {
		if r == RoleAdmin {
			s.notifyAdmins(ctx, "admin_sign_in", "An administrator signed in.",
				"Account: "+u.Email+"\nAddress: "+c.Addr+"\nTime: "+ev.At.Format(time.RFC3339))
			break
		}
	}
	return sess, nil
}

// fail records a failed attempt and counts it against the login and the
// address. countLogin is false for attempts refused before any check.
func (s *Service) fail(ctx context.Context, ev *SignInEvent, reason string, count bool) {
	ev.Outcome, ev.Reason = OutcomeFailure, reason
	s.record(ctx, ev, true)
	if count {
		s.failThrottle(ctx, loginKey(ev.Login), accountPolicy)
		s.failThrottle(ctx, addrKey(ev.RemoteAddr), addrPolicy)
	}
}

// record writes a sign-in event and, for failures, an audit event. The write
// outlives a client that disconnects.
func (s *Service) record(ctx context.Context, ev *SignInEvent, auditIt bool) {
	ctx = context.WithoutCancel(ctx)
	if ev.ID == "" {
		ev.ID = mamori.NewID()
	}
	if ev.At.IsZero() {
		ev.At = s.Now()
	}
	var evs []audit.Event
	if auditIt {
		typ := audit.SignInFailed
		if ev.Action == ActionStepUp {
			typ = audit.StepUpFailed
		}
		a := audit.New(ctx, typ, "user", ev.UserID).With("reason", ev.Reason).With("factor", ev.Factor).WithOutcome(audit.Failure)
		a.RemoteAddr = ev.RemoteAddr
		evs = append(evs, a)
	}
	if err := s.store.RecordSignIn(ctx, ev, false, evs...); err != nil {
		s.log.ErrorContext(ctx, "record sign-in event", "error", err)
	}
}

// takeMFAPending returns the user waiting for a second factor.
func (s *Service) takeMFAPending(ctx context.Context, token string, consume bool) (*User, *Pending, error) {
	if token == "" {
		return nil, nil, ErrSessionEnded
	}
	var p *Pending
	var err error
	if consume {
		p, err = s.store.TakePending(ctx, hashToken(token), PendingMFA)
	} else {
		p, err = s.peekPending(ctx, token, PendingMFA)
	}
	if err != nil || !s.Now().Before(p.ExpiresAt) {
		return nil, nil, ErrSessionEnded
	}
	u, err := s.store.UserByID(ctx, p.UserID)
	if err != nil {
		return nil, nil, ErrSessionEnded
	}
	if ok, _ := u.CanSignIn(s.Now()); !ok {
		return nil, nil, ErrSessionEnded
	}
	return u, p, nil
}

// peekPending reads a pending state without consuming it: a wrong code may
// be retried within the pending lifetime (the account throttle limits tries).
func (s *Service) peekPending(ctx context.Context, token, purpose string) (*Pending, error) {
	return s.store.Pending(ctx, hashToken(token), purpose)
}

// VerifyMFA completes a sign-in with a TOTP code or a recovery code.
func (s *Service) VerifyMFA(ctx context.Context, mfaToken, code string, c Client) (*NewSession, error) {
	u, _, err := s.takeMFAPending(ctx, mfaToken, false)
	if err != nil {
		return nil, err
	}
	ev := &SignInEvent{UserID: u.ID, Login: u.Email, Action: ActionMFA, RemoteAddr: c.Addr, UserAgent: truncate(c.UserAgent, 512)}
	if _, err := s.checkThrottles(ctx, loginKey(u.Email), addrKey(c.Addr)); err != nil {
		ev.Factor = FactorTOTP
		s.fail(ctx, ev, "throttled", false)
		return nil, err
	}
	factor, err := s.checkSecondFactor(ctx, u, code)
	ev.Factor = factor
	if err != nil {
		if errors.Is(err, errCodeFailed) {
			s.fail(ctx, ev, "mfa_failed", true)
		}
		return nil, err
	}
	if _, _, err := s.takeMFAPending(ctx, mfaToken, true); err != nil {
		return nil, err
	}
	return s.completeSignIn(ctx, u, c, []string{FactorPassword, factor}, true)
}

// checkSecondFactor accepts a current TOTP code (never one used before) or
// an unused recovery code.
func (s *Service) checkSecondFactor(ctx context.Context, u *User, code string) (string, error) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if isTOTPCode(code) && u.HasTOTP {
		if err := s.verifyTOTP(ctx, u.ID, code); err != nil {
			return FactorTOTP, err
		}
		return FactorTOTP, nil
	}
	if len(code) >= 10 {
		ok, err := s.store.UseRecoveryCode(ctx, u.ID, hashRecoveryCode(code),
			audit.New(mamori.WithActor(ctx, &mamori.Actor{UserID: u.ID}), audit.RecoveryCodeUsed, "user", u.ID))
		if err != nil {
			return FactorRecovery, err
		}
		if ok {
			return FactorRecovery, nil
		}
		return FactorRecovery, errCodeFailed
	}
	return FactorTOTP, errCodeFailed
}

// StepUp re-authenticates the signed-in user for a sensitive change: the
// password, plus a TOTP or recovery code when TOTP is enrolled. (Passkey
// users may instead complete a passkey assertion: see FinishPasskeyStepUp.)
func (s *Service) StepUp(ctx context.Context, p *Principal, password, code string, c Client) error {
	u := p.User
	ev := &SignInEvent{UserID: u.ID, Login: u.Email, Action: ActionStepUp, Factor: FactorPassword, RemoteAddr: c.Addr, UserAgent: truncate(c.UserAgent, 512)}
	if _, err := s.checkThrottles(ctx, loginKey(u.Email), addrKey(c.Addr)); err != nil {
		s.fail(ctx, ev, "throttled", false)
		return err
	}
	if ok, _ := VerifyPassword(password, u.PasswordHash, s.cfg.Argon2); !ok {
		s.fail(ctx, ev, "bad_password", true)
		return mamori.Invalid("password", "The password is incorrect.")
	}
	factors := FactorPassword
	if u.HasTOTP {
		factor, err := s.checkSecondFactor(ctx, u, code)
		ev.Factor = factor
		if err != nil {
			if errors.Is(err, errCodeFailed) {
				s.fail(ctx, ev, "mfa_failed", true)
				return mamori.Invalid("code", "The code is incorrect or has already been used.")
			}
			return err
		}
		factors += "," + factor
	}
	ev.Outcome = OutcomeSuccess
	s.record(ctx, ev, false)
	return s.store.SetSessionAuth(ctx, p.Session.IDHash, s.Now(), u.HasTOTP, factors,
		audit.New(ctx, audit.StepUpSucceeded, "user", u.ID))
}

type requestIDKey struct{}

// WithRequestID lets the web layer pass the request ID to events recorded
// before an actor exists (sign-in).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

func requestIDFrom(ctx context.Context) string {
	if a := mamori.ActorFrom(ctx); a != nil && a.RequestID != "" {
		return a.RequestID
	}
	s, _ := ctx.Value(requestIDKey{}).(string)
	return s
}
