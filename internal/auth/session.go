package auth

import (
	"context"
	"crypto/subtle"
	"strings"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
)

// Session is a server-side browser session. The browser holds a 256-bit
// random ID; the store holds only its hash.
type Session struct {
	IDHash     string
	UserID     string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute end
	AuthTime   time.Time // last sign-in or step-up
	MFAAt      time.Time // when a second factor was last proven; zero if never
	Factors    string    // comma-separated factors used at sign-in
	RemoteAddr string
	UserAgent  string
	CSRFToken  string
	RevokedAt  time.Time
}

// Pending is a short-lived server-side state between steps: a sign-in
// waiting for its second factor, or a WebAuthn ceremony.
type Pending struct {
	IDHash    string
	UserID    string
	Purpose   string
	Data      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Pending purposes.
const (
	PendingMFA              = "mfa"
	PendingPasskeyLogin     = "passkey_login"
	PendingPasskeyRegister  = "passkey_register"
	PendingPasskeyStepUp    = "passkey_step_up"
	PendingTOTPEnrol        = "totp_enrol"
	pendingLifetime         = 5 * time.Minute
	touchInterval           = time.Minute
	restrictionMFAEnrol     = "mfa_enrol"
	restrictionPasswordChng = "password_change"
)

// Principal is an authenticated browser session with its user.
type Principal struct {
	Actor   *mamori.Actor
	Session *Session
	User    *User
	// Restriction, when set, limits the session to fixing it: "mfa_enrol"
	// (the role needs MFA and none is enrolled) or "password_change".
	Restriction string
}

// NewSession is a session just created; Token goes into the cookie.
type NewSession struct {
	Token   string
	Session *Session
}

// startSession creates a session for u, replacing (rotating) the old one.
func (s *Service) startSession(ctx context.Context, u *User, c Client, factors []string, mfa bool, replaces string, evs ...audit.Event) (*NewSession, error) {
	now := s.Now()
	tok := randomToken(32)
	sess := &Session{
		IDHash:     hashToken(tok),
		UserID:     u.ID,
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(s.cfg.AbsoluteTimeout),
		AuthTime:   now,
		Factors:    strings.Join(factors, ","),
		RemoteAddr: c.Addr,
		UserAgent:  truncate(c.UserAgent, 512),
		CSRFToken:  randomToken(32),
	}
	if mfa {
		sess.MFAAt = now
	}
	if err := s.store.CreateSession(ctx, sess, replaces, evs...); err != nil {
		return nil, err
	}
	return &NewSession{Token: tok, Session: sess}, nil
}

// ErrSessionEnded means the session or sign-in step is gone: sign in again.
var ErrSessionEnded = mamori.Errorf(mamori.EUNAUTHENTICATED, "Your session has ended. Please sign in again.")

// Authenticate resolves a session cookie to a principal, enforcing the idle
// and absolute timeouts and the account's state.
func (s *Service) Authenticate(ctx context.Context, token string, c Client) (*Principal, error) {
	if token == "" || len(token) > 100 {
		return nil, ErrSessionEnded
	}
	hash := hashToken(token)
	sess, err := s.store.SessionByHash(ctx, hash)
	if err != nil {
		if mamori.ErrorCode(err) == mamori.ENOTFOUND {
			return nil, ErrSessionEnded
		}
		return nil, err
	}
	now := s.Now()
	if !sess.RevokedAt.IsZero() || !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) > s.cfg.IdleTimeout {
		if sess.RevokedAt.IsZero() {
			_ = s.store.RevokeSession(context.WithoutCancel(ctx), sess.UserID, hash)
		}
		return nil, ErrSessionEnded
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	if err != nil {
		return nil, err
	}
	if ok, _ := u.CanSignIn(now); !ok {
		_, _ = s.store.RevokeUserSessions(context.WithoutCancel(ctx), u.ID, "")
		return nil, ErrSessionEnded
	}
	if now.Sub(sess.LastSeenAt) > touchInterval {
		if err := s.store.TouchSession(ctx, hash, now); err == nil {
			sess.LastSeenAt = now
		}
	}
	p := &Principal{Session: sess, User: u}
	switch {
	case NeedsMFA(u.Roles, s.MFAForAll(ctx)) && !u.HasMFA():
		p.Restriction = restrictionMFAEnrol
	case u.MustChangePassword:
		p.Restriction = restrictionPasswordChng
	}
	p.Actor = s.actorFor(u, c)
	p.Actor.SessionID = hash
	p.Actor.AuthTime = sess.AuthTime
	if p.Restriction != "" {
		// Until the session is fixed it holds no permission at all, so even a
		// route that forgot to check the restriction refuses.
		p.Actor.Perms = map[mamori.Permission]bool{}
	}
	return p, nil
}

// RotateSession replaces the principal's session with a new one carrying
// the same authentication state: after a change of privilege (MFA just
// enrolled, a step-up) the old session ID stops working, so an ID that
// leaked before the change is worth nothing after it.
func (s *Service) RotateSession(ctx context.Context, p *Principal, c Client) (*NewSession, error) {
	cur, err := s.store.SessionByHash(ctx, p.Session.IDHash)
	if err != nil {
		return nil, err
	}
	tok := randomToken(32)
	now := s.Now()
	ns := *cur
	ns.IDHash, ns.CSRFToken, ns.LastSeenAt = hashToken(tok), randomToken(32), now
	ns.RemoteAddr, ns.UserAgent = c.Addr, truncate(c.UserAgent, 512)
	if err := s.store.CreateSession(ctx, &ns, cur.IDHash); err != nil {
		return nil, err
	}
	return &NewSession{Token: tok, Session: &ns}, nil
}

// Restricted reports the kind of restriction: "mfa_enrol" or "password_change".
func (p *Principal) Restricted() string { return p.Restriction }

func (s *Service) actorFor(u *User, c Client) *mamori.Actor {
	return &mamori.Actor{
		UserID:      u.ID,
		Email:       u.Email,
		DisplayName: u.DisplayName,
		Roles:       append([]string(nil), u.Roles...),
		Perms:       PermsOf(u.Roles),
		RemoteAddr:  c.Addr,
		UserAgent:   c.UserAgent,
	}
}

// CheckCSRF compares a submitted token with the session's, in constant time.
func (p *Principal) CheckCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(p.Session.CSRFToken)) == 1
}

// SignOut ends the session.
func (s *Service) SignOut(ctx context.Context, p *Principal) error {
	return s.store.RevokeSession(ctx, p.User.ID, p.Session.IDHash,
		audit.New(ctx, audit.SignOut, "user", p.User.ID))
}

// MySessions lists the signed-in user's sessions that are still alive.
func (s *Service) MySessions(ctx context.Context) ([]*Session, error) {
	a, err := mamori.Require(ctx, mamori.Authenticated)
	if err != nil {
		return nil, err
	}
	return s.liveSessions(ctx, a.UserID)
}

// UserSessions lists a user's live sessions, for administrators.
func (s *Service) UserSessions(ctx context.Context, userID string) ([]*Session, error) {
	if _, err := mamori.Require(ctx, mamori.PermUserManage); err != nil {
		return nil, err
	}
	return s.liveSessions(ctx, userID)
}

func (s *Service) liveSessions(ctx context.Context, userID string) ([]*Session, error) {
	all, err := s.store.Sessions(ctx, userID)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	out := all[:0]
	for _, x := range all {
		if x.RevokedAt.IsZero() && now.Before(x.ExpiresAt) && now.Sub(x.LastSeenAt) <= s.cfg.IdleTimeout {
			out = append(out, x)
		}
	}
	return out, nil
}

// RevokeMySession ends one of the user's own sessions, identified by the
// hash shown on the sessions page.
func (s *Service) RevokeMySession(ctx context.Context, idHash string) error {
	a, err := mamori.Require(ctx, mamori.Authenticated)
	if err != nil {
		return err
	}
	return s.store.RevokeSession(ctx, a.UserID, idHash, audit.New(ctx, audit.SessionRevoked, "user", a.UserID))
}

// RevokeUserSessions ends every session of a user (administrators).
func (s *Service) RevokeUserSessions(ctx context.Context, userID string) (int, error) {
	if _, err := mamori.Require(ctx, mamori.PermUserManage); err != nil {
		return 0, err
	}
	return s.store.RevokeUserSessions(ctx, userID, "", audit.New(ctx, audit.SessionRevoked, "user", userID).With("all", true))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut at a rune boundary.
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}
