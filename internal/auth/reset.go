package auth

import (
	"context"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
)

// OneTimeToken is a single-use link secret (password reset, invitation),
// stored hashed.
type OneTimeToken struct {
	Hash      string
	Purpose   string // "reset" or "invite"
	UserID    string
	CreatedBy string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
}

const (
	resetLifetime  = 30 * time.Minute
	inviteLifetime = 7 * 24 * time.Hour
)

// RequestPasswordReset sends a reset link to the address if it belongs to an
// active account. The caller answers the same way either way; the mail goes
// only to the registered address.
func (s *Service) RequestPasswordReset(ctx context.Context, email string, c Client) error {
	email = NormalizeEmail(email)
	if email == "" {
		return mamori.Invalid("email", "Enter your e-mail address.")
	}
	ev := &SignInEvent{Login: truncate(email, 254), Action: ActionReset, Factor: "request", RemoteAddr: c.Addr, UserAgent: truncate(c.UserAgent, 512)}
	if _, err := s.checkThrottles(ctx, addrKey(c.Addr)); err != nil {
		s.fail(ctx, ev, "throttled", false)
		return err
	}
	// Equal work for known and unknown addresses: one hash either way.
	tok := randomToken(32)
	hash := hashToken(tok)
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil || u.Decoy {
		if u != nil {
			ev.UserID = u.ID
		}
		ev.Outcome, ev.Reason = OutcomeFailure, "unknown_user"
		if u != nil && u.Decoy {
			ev.Reason = "decoy_account"
		}
		s.record(ctx, ev, false)
		// Requests for addresses that do not exist count against the source,
		// which limits probing through this form.
		s.failThrottle(ctx, addrKey(c.Addr), addrPolicy)
		return nil
	}
	ev.UserID = u.ID
	if ok, reason := u.CanSignIn(s.Now()); !ok {
		ev.Outcome, ev.Reason = OutcomeFailure, reason
		s.record(ctx, ev, false)
		return nil
	}
	now := s.Now()
	actx := mamori.WithActor(ctx, &mamori.Actor{RemoteAddr: c.Addr, RequestID: requestIDFrom(ctx)})
	if err := s.store.CreateOneTimeToken(ctx, &OneTimeToken{Hash: hash, Purpose: "reset", UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(resetLifetime)},
		audit.New(actx, audit.PasswordResetRequest, "user", u.ID)); err != nil {
		return err
	}
	ev.Outcome = OutcomeSuccess
	s.record(ctx, ev, false)
	link := s.cfg.BaseURL + "/reset/" + tok
	s.mail(ctx, u.Email, "mamori: password reset / パスワード再設定",
		"パスワード再設定の依頼を受け付けました。30分以内に次のリンクから新しいパスワードを設定してください。\n"+
			"A password reset was requested. Set a new password within 30 minutes at:\n\n"+link+"\n\n"+
			"心当たりがない場合はこのメールを無視し、管理者に連絡してください。\nIf you did not ask for this, ignore this mail and tell your administrator.")
	return nil
}

var errLinkInvalid = mamori.Errorf(mamori.EINVALID, "This link is invalid, expired or already used.")

// CheckResetToken tells the reset or invitation page whether to show the
// form, without consuming the token.
func (s *Service) CheckResetToken(ctx context.Context, token, purpose string) error {
	if token == "" || len(token) > 100 {
		return errLinkInvalid
	}
	t, err := s.store.OneTimeToken(ctx, hashToken(token), purpose)
	if err != nil || !t.UsedAt.IsZero() || !s.Now().Before(t.ExpiresAt) {
		return errLinkInvalid
	}
	return nil
}

// ResetPassword sets a new password with a reset or invitation link. The
// link works once; afterwards every session of the user ends, MFA stays
// required at the next sign-in, and the user is told by mail.
func (s *Service) ResetPassword(ctx context.Context, token, purpose, password string, c Client) error {
	if token == "" || len(token) > 100 {
		return errLinkInvalid
	}
	ev := &SignInEvent{Action: ActionReset, Factor: FactorReset, RemoteAddr: c.Addr, UserAgent: truncate(c.UserAgent, 512)}
	if _, err := s.checkThrottles(ctx, addrKey(c.Addr)); err != nil {
		s.fail(ctx, ev, "throttled", false)
		return err
	}
	hash := hashToken(token)
	ott, err := s.store.OneTimeToken(ctx, hash, purpose)
	if err != nil || !ott.UsedAt.IsZero() || !s.Now().Before(ott.ExpiresAt) {
		s.fail(ctx, ev, "bad_link", true)
		return errLinkInvalid
	}
	u, err := s.store.UserByID(ctx, ott.UserID)
	if err != nil {
		return errLinkInvalid
	}
	ev.UserID, ev.Login = u.ID, u.Email
	// A password the policy refuses leaves the link usable for another try.
	if err := CheckPassword(password, s.PasswordPolicy(ctx), u.Email, u.Email); err != nil {
		return err
	}
	// Consuming is atomic: of two concurrent uses, one wins.
	if _, err := s.store.ConsumeOneTimeToken(ctx, hash, purpose, s.Now()); err != nil {
		s.fail(ctx, ev, "bad_link", true)
		return errLinkInvalid
	}
	h, err := HashPassword(password, s.cfg.Argon2)
	if err != nil {
		return err
	}
	typ := audit.PasswordResetDone
	actx := mamori.WithActor(ctx, &mamori.Actor{UserID: u.ID, RemoteAddr: c.Addr, RequestID: requestIDFrom(ctx)})
	if err := s.store.SetPassword(ctx, u.ID, h, false, audit.New(actx, typ, "user", u.ID).With("via", purpose)); err != nil {
		return err
	}
	if _, err := s.store.RevokeUserSessions(ctx, u.ID, ""); err != nil {
		return err
	}
	ev.Outcome = OutcomeSuccess
	s.record(ctx, ev, false)
	s.mail(ctx, u.Email, "mamori: password changed / パスワードが変更されました",
		"あなたのmamoriアカウントのパスワードが変更され、すべてのセッションが終了しました。心当たりがない場合は直ちに管理者に連絡してください。\n"+
			"The password of your mamori account was changed and all sessions were ended. If this was not you, tell your administrator now.")
	return nil
}

// ChangePassword changes the signed-in user's password (step-up required,
// and the current password is checked again). Other sessions end.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, current, next string) error {
	if p.Restriction != restrictionPasswordChng {
		if _, err := s.requireStepUp(ctx, mamori.Authenticated); err != nil {
			return err
		}
	}
	if ok, _ := VerifyPassword(current, p.User.PasswordHash, s.cfg.Argon2); !ok {
		return mamori.Invalid("current_password", "The current password is incorrect.")
	}
	if err := CheckPassword(next, s.PasswordPolicy(ctx), p.User.Email, p.User.Email); err != nil {
		return err
	}
	if current == next {
		return mamori.Invalid("password", "Choose a password different from the current one.")
	}
	h, err := HashPassword(next, s.cfg.Argon2)
	if err != nil {
		return err
	}
	if err := s.store.SetPassword(ctx, p.User.ID, h, false, audit.New(ctx, audit.PasswordChanged, "user", p.User.ID)); err != nil {
		return err
	}
	if _, err := s.store.RevokeUserSessions(ctx, p.User.ID, p.Session.IDHash); err != nil {
		return err
	}
	s.mail(ctx, p.User.Email, "mamori: password changed / パスワードが変更されました",
		"あなたのmamoriアカウントのパスワードが変更されました。心当たりがない場合は直ちに管理者に連絡してください。\n"+
			"The password of your mamori account was changed. If this was not you, tell your administrator now.")
	return nil
}

// mail sends a message and logs (without the body) if sending fails.
func (s *Service) mail(ctx context.Context, to, subject, body string) {
	if s.mailer == nil {
		return
	}
	if err := s.mailer.Send(context.WithoutCancel(ctx), []string{to}, subject, body); err != nil {
		s.log.ErrorContext(ctx, "send mail", "subject", subject, "error", err)
	}
}
