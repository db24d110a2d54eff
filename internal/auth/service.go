package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
)

// Store is what the auth service needs from storage. Every method that
// changes data takes the audit events that record the change and writes them
// in the same transaction.
type Store interface {
	CreateUser(ctx context.Context, u *User, evs ...audit.Event) error
	UserByID(ctx context.Context, id string) (*User, error)
	UserByEmail(ctx context.Context, email string) (*User, error)
	Users(ctx context.Context, f UserFilter) ([]*User, int, error)
	UpdateUser(ctx context.Context, u *User, evs ...audit.Event) error
	SetRoles(ctx context.Context, userID string, roles []string, by string, evs ...audit.Event) error
	SetPassword(ctx context.Context, userID, hash string, mustChange bool, evs ...audit.Event) error
	RecordSignIn(ctx context.Context, e *SignInEvent, success bool, evs ...audit.Event) error
	SignInEvents(ctx context.Context, f SignInFilter) ([]*SignInEvent, int, error)
	CountUsers(ctx context.Context) (int, error)

	CreateSession(ctx context.Context, s *Session, replaces string, evs ...audit.Event) error
	SessionByHash(ctx context.Context, hash string) (*Session, error)
	TouchSession(ctx context.Context, hash string, at time.Time) error
	SetSessionAuth(ctx context.Context, hash string, authTime time.Time, mfa bool, factors string, evs ...audit.Event) error
	RevokeSession(ctx context.Context, userID, hash string, evs ...audit.Event) error
	RevokeUserSessions(ctx context.Context, userID, except string, evs ...audit.Event) (int, error)
	Sessions(ctx context.Context, userID string) ([]*Session, error)

	CreatePending(ctx context.Context, p *Pending) error
	Pending(ctx context.Context, hash, purpose string) (*Pending, error)
	TakePending(ctx context.Context, hash, purpose string) (*Pending, error)

	TOTP(ctx context.Context, userID string) (*TOTPCredential, error)
	SaveTOTP(ctx context.Context, c *TOTPCredential, evs ...audit.Event) error
	UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error)
	DeleteTOTP(ctx context.Context, userID string, evs ...audit.Event) error
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, evs ...audit.Event) error
	UseRecoveryCode(ctx context.Context, userID, hash string, evs ...audit.Event) (bool, error)
	RecoveryCodesLeft(ctx context.Context, userID string) (int, error)

	AddPasskey(ctx context.Context, p *Passkey, evs ...audit.Event) error
	Passkeys(ctx context.Context, userID string) ([]*Passkey, error)
	UpdatePasskeyUse(ctx context.Context, p *Passkey) error
	DeletePasskey(ctx context.Context, userID, id string, evs ...audit.Event) error
	DeleteAllMFA(ctx context.Context, userID string, evs ...audit.Event) error

	CreateToken(ctx context.Context, t *Token, evs ...audit.Event) error
	TokenByHash(ctx context.Context, hash string) (*Token, error)
	Tokens(ctx context.Context, userID string) ([]*Token, error)
	RevokeToken(ctx context.Context, userID, id string, evs ...audit.Event) error
	TouchToken(ctx context.Context, id string, at time.Time, addr string) error

	Throttle(ctx context.Context, key string) (*Throttle, error)
	SaveThrottle(ctx context.Context, t *Throttle, evs ...audit.Event) error
	DeleteThrottle(ctx context.Context, key string, evs ...audit.Event) error
	LockedThrottles(ctx context.Context, now time.Time) ([]*Throttle, error)

	CreateOneTimeToken(ctx context.Context, t *OneTimeToken, evs ...audit.Event) error
	OneTimeToken(ctx context.Context, hash, purpose string) (*OneTimeToken, error)
	ConsumeOneTimeToken(ctx context.Context, hash, purpose string, now time.Time) (*OneTimeToken, error)

	Setting(ctx context.Context, key string) (string, error)
	SetSetting(ctx context.Context, key, value, by string, evs ...audit.Event) error

	AddAccessReview(ctx context.Context, r *AccessReview, evs ...audit.Event) error
	AccessReviews(ctx context.Context, limit int) ([]*AccessReview, error)

	CreateApproval(ctx context.Context, a *Approval, evs ...audit.Event) error
	Approval(ctx context.Context, id string) (*Approval, error)
	DecideApproval(ctx context.Context, a *Approval, evs ...audit.Event) error
	Approvals(ctx context.Context, f ApprovalFilter) ([]*Approval, error)

	AddNotifications(ctx context.Context, ns []*Notification) error
	Notifications(ctx context.Context, userID string, limit int) ([]*Notification, error)
	MarkNotificationsRead(ctx context.Context, userID string, at time.Time) error
}

// Sealer encrypts sensitive fields bound to their table, column and row.
type Sealer interface {
	Seal(plaintext []byte, table, column, row string) ([]byte, error)
	Open(ciphertext []byte, table, column, row string) ([]byte, error)
}

// Mailer sends mail. Without SMTP in development mode, a mailer that logs
// is used instead.
type Mailer interface {
	Send(ctx context.Context, to []string, subject, body string) error
}

// Config is the auth part of the configuration.
type Config struct {
	BaseURL         string // external origin, for links and the WebAuthn relying party
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration
	StepUpWindow    time.Duration
	MFAForAll       bool // default of the setting "security.mfa_all"
	InactiveDays    int
	Argon2          Argon2Params
}

// Service is identity and access: accounts, sign-in, MFA, sessions, tokens,
// throttling, password reset, account lifecycle and approvals.
type Service struct {
	store  Store
	cfg    Config
	sealer Sealer
	mailer Mailer
	now    mamori.Clock
	log    *slog.Logger
	wa     *webauthn.WebAuthn
	// dummyHash is verified against when the account does not exist, so that
	// unknown and known accounts cost the same time to refuse. It uses the
	// service's own parameters, like every real hash.
	dummyHash func() string
}

// NewService returns the auth service.
func NewService(store Store, cfg Config, sealer Sealer, mailer Mailer, now mamori.Clock, log *slog.Logger) (*Service, error) {
	if cfg.Argon2 == (Argon2Params{}) {
		cfg.Argon2 = DefaultArgon2
	}
	if now == nil {
		now = mamori.SystemClock
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Hostname() == "" {
		return nil, mamori.Invalid("base_url", "must be an origin such as https://mamori.example.co.jp")
	}
	// WebAuthn needs a domain name; reached by a bare IP address, mamori
	// runs without passkeys (and says so on the passkey pages).
	var wa *webauthn.WebAuthn
	if net.ParseIP(u.Hostname()) == nil {
		wa, err = webauthn.New(&webauthn.Config{
			RPID:          u.Hostname(),
			RPDisplayName: "mamori",
			RPOrigins:     []string{u.Scheme + "://" + u.Host},
		})
		if err != nil {
			return nil, fmt.Errorf("webauthn: %w", err)
		}
	} else {
		log.Warn("passkeys are unavailable: base_url names an IP address, and WebAuthn needs a domain name", "base_url", cfg.BaseURL)
	}
	s := &Service{store: store, cfg: cfg, sealer: sealer, mailer: mailer, now: now, log: log, wa: wa}
	s.dummyHash = sync.OnceValue(func() string {
		h, err := HashPassword("mamori-dummy-password-for-timing", cfg.Argon2)
		if err != nil {
			panic(err)
		}
		return h
	})
	return s, nil
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now().UTC() }

// randomBytes returns n bytes from the system's secure random source.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("auth: random source failed: " + err.Error())
	}
	return b
}

// randomToken returns n random bytes, base64url without padding.
func randomToken(n int) string { return base64.RawURLEncoding.EncodeToString(randomBytes(n)) }

// hashToken returns the stored form of a bearer secret (session ID, API
// token, reset token). They carry 256 bits of entropy, so a fast hash is
// enough; the database never holds a usable secret.
func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// Settings keys and their typed accessors.
const (
	SettingPasswordLevel = "security.password_level"
	SettingMFAAll        = "security.mfa_all"
)

// PasswordPolicy returns the policy the administrator chose.
func (s *Service) PasswordPolicy(ctx context.Context) PasswordPolicy {
	v, err := s.store.Setting(ctx, SettingPasswordLevel)
	if err != nil {
		return Policy(DefaultPasswordLevel)
	}
	n, _ := strconv.Atoi(v)
	return Policy(PasswordLevel(n))
}

// MFAForAll reports whether every user, not only those who can change data,
// must use multi-factor authentication.
func (s *Service) MFAForAll(ctx context.Context) bool {
	v, err := s.store.Setting(ctx, SettingMFAAll)
	if err != nil {
		return s.cfg.MFAForAll
	}
	b, _ := strconv.ParseBool(v)
	return b
}

// SecuritySettings are the settings an administrator edits.
type SecuritySettings struct {
	PasswordLevel PasswordLevel
	MFAForAll     bool
}

// Settings returns the current security settings.
func (s *Service) Settings(ctx context.Context) (SecuritySettings, error) {
	if _, err := mamori.Require(ctx, mamori.PermSettingsManage); err != nil {
		return SecuritySettings{}, err
	}
	return SecuritySettings{PasswordLevel: s.PasswordPolicy(ctx).Level, MFAForAll: s.MFAForAll(ctx)}, nil
}

// UpdateSettings changes the security settings (step-up required) and tells
// every administrator.
func (s *Service) UpdateSettings(ctx context.Context, in SecuritySettings) error {
	actor, err := s.requireStepUp(ctx, mamori.PermSettingsManage)
	if err != nil {
		return err
	}
	if in.PasswordLevel < 1 || in.PasswordLevel > 4 {
		return mamori.Invalid("password_level", "Choose a level from 1 to 4.")
	}
	cur := SecuritySettings{PasswordLevel: s.PasswordPolicy(ctx).Level, MFAForAll: s.MFAForAll(ctx)}
	if cur.PasswordLevel != in.PasswordLevel {
		if err := s.store.SetSetting(ctx, SettingPasswordLevel, strconv.Itoa(int(in.PasswordLevel)), actor.ID(),
			audit.New(ctx, audit.SettingChanged, "setting", SettingPasswordLevel).With("value", int(in.PasswordLevel))); err != nil {
			return err
		}
	}
	if cur.MFAForAll != in.MFAForAll {
		if err := s.store.SetSetting(ctx, SettingMFAAll, strconv.FormatBool(in.MFAForAll), actor.ID(),
			audit.New(ctx, audit.SettingChanged, "setting", SettingMFAAll).With("value", in.MFAForAll)); err != nil {
			return err
		}
	}
	if cur != in {
		s.notifyAdmins(ctx, "setting_changed", "Security settings were changed.",
			fmt.Sprintf("Password level: %d, MFA for all users: %t. Changed by %s.", in.PasswordLevel, in.MFAForAll, actor.Email))
	}
	return nil
}

// requireStepUp is Require plus a recent authentication.
func (s *Service) requireStepUp(ctx context.Context, p mamori.Permission) (*mamori.Actor, error) {
	a, err := mamori.Require(ctx, p)
	if err != nil {
		return nil, err
	}
	if a.System {
		return a, nil
	}
	if a.TokenID != "" || s.Now().Sub(a.AuthTime) > s.cfg.StepUpWindow {
		return nil, ErrStepUpRequired
	}
	return a, nil
}

// ErrStepUpRequired asks the user to re-authenticate before a sensitive
// change. The web layer recognises it and shows the re-authentication page.
var ErrStepUpRequired = &mamori.Error{Code: mamori.EFORBIDDEN, Message: "Please confirm it is you: sign in again to continue."}

var errNoPasskeys = mamori.Errorf(mamori.ENOTIMPLEMENTED, "Passkeys need mamori to be reached by a domain name (see base_url), not an IP address.")

// PasskeysAvailable reports whether WebAuthn is configured.
func (s *Service) PasskeysAvailable() bool { return s.wa != nil }

// StepUpWindow is how recent an authentication must be for sensitive changes.
func (s *Service) StepUpWindow() time.Duration { return s.cfg.StepUpWindow }
