package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
)

// UserFilter selects users.
type UserFilter struct {
	Query   string // substring of e-mail, name or department
	Status  string
	Role    string
	Limit   int
	Offset  int
	WithMFA bool // load MFA state (HasTOTP, Passkeys)
}

// UserInput is what an administrator enters for an account.
type UserInput struct {
	Email       string
	DisplayName string
	Department  string
	Locale      string
	Roles       []string
	ValidFrom   time.Time
	ValidUntil  time.Time
	Decoy       bool
}

func (in UserInput) user(id string, now time.Time) *User {
	roles := slices.Clone(in.Roles)
	slices.Sort(roles)
	roles = slices.Compact(roles)
	return &User{ID: id, Email: NormalizeEmail(in.Email), DisplayName: strings.TrimSpace(in.DisplayName),
		Department: strings.TrimSpace(in.Department), Locale: in.Locale, Status: StatusActive,
		ValidFrom: in.ValidFrom, ValidUntil: in.ValidUntil, Decoy: in.Decoy, Roles: roles,
		CreatedAt: now, UpdatedAt: now, Version: 1}
}

// CreateWithPassword creates an account with a known password: the first
// administrator from the command line, demo users, or a decoy account.
// Passing an empty password generates one and returns it.
func (s *Service) CreateWithPassword(ctx context.Context, in UserInput, password string) (*User, string, error) {
	a, err := mamori.Require(ctx, mamori.PermUserManage)
	if err != nil {
		return nil, "", err
	}
	u := in.user(mamori.NewID(), s.Now())
	if err := validateUser(u); err != nil {
		return nil, "", err
	}
	if len(u.Roles) == 0 && !u.Decoy {
		return nil, "", mamori.Invalid("roles", "Choose at least one role.")
	}
	generated := password == ""
	if generated {
		password = GeneratePassword()
	}
	if err := CheckPassword(password, s.PasswordPolicy(ctx), u.Email, u.Email); err != nil {
		return nil, "", err
	}
	if u.PasswordHash, err = HashPassword(password, s.cfg.Argon2); err != nil {
		return nil, "", err
	}
	u.PasswordChangedAt = u.CreatedAt
	if err := s.store.CreateUser(ctx, u, audit.New(ctx, audit.UserCreated, "user", u.ID).With("roles", u.Roles).With("decoy", u.Decoy)); err != nil {
		return nil, "", s.explainDuplicate(err)
	}
	if slices.Contains(u.Roles, RoleAdmin) && !a.System {
		s.notifyAdmins(ctx, "role_granted", "An administrator account was created.", "Account: "+u.Email)
	}
	if !generated {
		password = ""
	}
	return u, password, nil
}

// GeneratePassword returns a random 20-character password that every
// policy level accepts.
func GeneratePassword() string {
	const (
		lower  = "abcdefghijkmnopqrstuvwxyz"
		upper  = "ABCDEFGHJKLMNPQRSTUVWXYZ"
		digits = "23456789"
		syms   = "-_.!#%+=?"
	)
	all := lower + upper + digits + syms
	b := randomBytes(20)
	out := make([]byte, 20)
	for i := range out {
		set := all
		switch i {
		case 0:
			set = lower
		case 1:
			set = upper
		case 2:
			set = digits
		case 3:
			set = syms
		}
		out[i] = set[int(b[i])%len(set)]
	}
	// Move the fixed classes away from the front.
	p := randomBytes(20)
	for i := len(out) - 1; i > 0; i-- {
		j := int(p[i]) % (i + 1)
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

func (s *Service) explainDuplicate(err error) error {
	if mamori.ErrorCode(err) == mamori.ECONFLICT {
		return mamori.Invalid("email", "An account with this e-mail address already exists (or existed and was deleted).")
	}
	return err
}

// Invite creates an account and mails the person a link (valid 7 days) to
// set their password. Inviting an address that already has an account
// answers the same and mails its owner a notice instead, so the answer
// never tells whether an address is registered.
func (s *Service) Invite(ctx context.Context, in UserInput) error {
	a, err := mamori.Require(ctx, mamori.PermUserManage)
	if err != nil {
		return err
	}
	u := in.user(mamori.NewID(), s.Now())
	if err := validateUser(u); err != nil {
		return err
	}
	if len(u.Roles) == 0 {
		return mamori.Invalid("roles", "Choose at least one role.")
	}
	if slices.Contains(u.Roles, RoleAdmin) || slices.Contains(u.Roles, RoleSecurityManager) {
		if _, err := s.requireStepUp(ctx, mamori.PermUserManage); err != nil {
			return err
		}
	}
	tok := randomToken(32)
	if existing, err := s.store.UserByEmail(ctx, u.Email); err == nil {
		s.mail(ctx, existing.Email, "mamori: invitation / 招待",
			"mamoriへの招待がありましたが、このアドレスのアカウントは既に存在します。パスワードを忘れた場合はサインイン画面から再設定してください。\n"+
				"You were invited to mamori, but an account with this address already exists. If you forgot your password, reset it from the sign-in page.")
		return nil
	}
	now := s.Now()
	if err := s.store.CreateUser(ctx, u, audit.New(ctx, audit.UserInvited, "user", u.ID).With("roles", u.Roles)); err != nil {
		if mamori.ErrorCode(err) == mamori.ECONFLICT {
			return nil // a concurrent invitation created it: answer alike
		}
		return err
	}
	if err := s.store.CreateOneTimeToken(ctx, &OneTimeToken{Hash: hashToken(tok), Purpose: "invite", UserID: u.ID,
		CreatedBy: a.ID(), CreatedAt: now, ExpiresAt: now.Add(inviteLifetime)}); err != nil {
		return err
	}
	s.mail(ctx, u.Email, "mamori: invitation / 招待",
		"mamoriに招待されました。7日以内に次のリンクからパスワードを設定してください。\n"+
			"You have been invited to mamori. Set your password within 7 days at:\n\n"+s.cfg.BaseURL+"/invite/"+tok)
	if slices.Contains(u.Roles, RoleAdmin) {
		s.notifyAdmins(ctx, "role_granted", "An administrator was invited.", "Account: "+u.Email)
	}
	return nil
}

// User returns one account (administrators).
func (s *Service) User(ctx context.Context, id string) (*User, error) {
	if _, err := mamori.Require(ctx, mamori.PermUserManage); err != nil {
		return nil, err
	}
	return s.store.UserByID(ctx, id)
}

// Me returns the signed-in user.
func (s *Service) Me(ctx context.Context) (*User, error) {
	a, err := mamori.Require(ctx, mamori.Authenticated)
	if err != nil {
		return nil, err
	}
	return s.store.UserByID(ctx, a.UserID)
}

// Users lists accounts (administrators, and auditors for access reviews).
func (s *Service) Users(ctx context.Context, f UserFilter) ([]*User, int, error) {
	a := mamori.ActorFrom(ctx)
	if a == nil || !(a.Can(mamori.PermUserManage) || a.Can(mamori.PermAccessReview)) {
		return nil, 0, mamori.Errorf(mamori.EFORBIDDEN, "You do not have permission to do this.")
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	return s.store.Users(ctx, f)
}

// UpdateUser changes an account's details (not its roles or password).
func (s *Service) UpdateUser(ctx context.Context, id string, in UserInput) (*User, error) {
	if _, err := mamori.Require(ctx, mamori.PermUserManage); err != nil {
		return nil, err
	}
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if u.Status == StatusDeleted {
		return nil, mamori.Errorf(mamori.ECONFLICT, "A deleted account cannot be changed.")
	}
	old := *u
	u.DisplayName, u.Department, u.Locale = strings.TrimSpace(in.DisplayName), strings.TrimSpace(in.Department), in.Locale
	u.ValidFrom, u.ValidUntil, u.Decoy = in.ValidFrom, in.ValidUntil, in.Decoy
	if err := validateUser(u); err != nil {
		return nil, err
	}
	changed := changedFields(&old, u)
	if len(changed) == 0 {
		return u, nil
	}
	u.UpdatedAt = s.Now()
	if err := s.store.UpdateUser(ctx, u, audit.New(ctx, audit.UserUpdated, "user", u.ID).Fields(changed...)); err != nil {
		return nil, err
	}
	return u, nil
}

// UpdateMe lets a user change their own display name and language.
func (s *Service) UpdateMe(ctx context.Context, displayName, locale string) error {
	a, err := mamori.Require(ctx, mamori.Authenticated)
	if err != nil {
		return err
	}
	u, err := s.store.UserByID(ctx, a.UserID)
	if err != nil {
		return err
	}
	old := *u
	u.DisplayName, u.Locale = strings.TrimSpace(displayName), locale
	if err := validateUser(u); err != nil {
		return err
	}
	changed := changedFields(&old, u)
	if len(changed) == 0 {
		return nil
	}
	u.UpdatedAt = s.Now()
	return s.store.UpdateUser(ctx, u, audit.New(ctx, audit.UserUpdated, "user", u.ID).Fields(changed...))
}

func changedFields(a, b *User) []string {
	var f []string
	add := func(name string, differ bool) {
		if differ {
			f = append(f, name)
		}
	}
	add("display_name", a.DisplayName != b.DisplayName)
	add("department", a.Department != b.Department)
	add("locale", a.Locale != b.Locale)
	add("valid_from", !a.ValidFrom.Equal(b.ValidFrom))
	add("valid_until", !a.ValidUntil.Equal(b.ValidUntil))
	add("decoy", a.Decoy != b.Decoy)
	return f
}

// SetUserRoles replaces an account's roles (step-up required). An
// administrator cannot change their own roles; the user's sessions end, so
// the new privileges start with a fresh sign-in; every administrator is told.
func (s *Service) SetUserRoles(ctx context.Context, id string, roles []string) error {
	a, err := s.requireStepUp(ctx, mamori.PermUserManage)
	if err != nil {
		return err
	}
	if a.UserID == id {
		return mamori.Errorf(mamori.EFORBIDDEN, "You cannot change your own roles. Ask another administrator.")
	}
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return err
	}
	if u.Status == StatusDeleted {
		return mamori.Errorf(mamori.ECONFLICT, "A deleted account cannot be changed.")
	}
	roles = slices.Clone(roles)
	slices.Sort(roles)
	roles = slices.Compact(roles)
	for _, r := range roles {
		if _, ok := RoleByID(r); !ok {
			return mamori.Invalid("roles", "Unknown role.")
		}
	}
	var evs []audit.Event
	for _, r := range roles {
		if !slices.Contains(u.Roles, r) {
			evs = append(evs, audit.New(ctx, audit.RoleGranted, "user", id).With("role", r))
		}
	}
	for _, r := range u.Roles {
		if !slices.Contains(roles, r) {
			evs = append(evs, audit.New(ctx, audit.RoleRevoked, "user", id).With("role", r))
		}
	}
	if len(evs) == 0 {
		return nil
	}
	if err := s.store.SetRoles(ctx, id, roles, a.ID(), evs...); err != nil {
		return err
	}
	if _, err := s.store.RevokeUserSessions(ctx, id, ""); err != nil {
		return err
	}
	s.notifyAdmins(ctx, "role_granted", "A user's roles were changed.",
		fmt.Sprintf("Account: %s\nRoles: %s\nChanged by: %s", u.Email, strings.Join(roles, ", "), a.Email))
	return nil
}

// DisableUser disables an account: it cannot sign in, its sessions and
// tokens stop working, and the record of who existed stays.
func (s *Service) DisableUser(ctx context.Context, id, reason string) error {
	return s.setStatus(ctx, id, StatusDisabled, reason, audit.UserDisabled)
}

// EnableUser enables a disabled account again.
func (s *Service) EnableUser(ctx context.Context, id string) error {
	return s.setStatus(ctx, id, StatusActive, "", audit.UserEnabled)
}

// DeleteUser deletes an account: like disabling, for good. Its name and
// address stay, so the audit trail and past records still say who acted.
func (s *Service) DeleteUser(ctx context.Context, id string) error {
	return s.setStatus(ctx, id, StatusDeleted, "deleted by an administrator", audit.UserDeleted)
}

func (s *Service) setStatus(ctx context.Context, id, status, reason string, typ audit.Type) error {
	a, err := mamori.Require(ctx, mamori.PermUserManage)
	if err != nil {
		return err
	}
	if a.UserID == id && status != StatusActive {
		return mamori.Errorf(mamori.EFORBIDDEN, "You cannot disable or delete your own account.")
	}
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return err
	}
	if u.Status == StatusDeleted {
		return mamori.Errorf(mamori.ECONFLICT, "A deleted account cannot be changed.")
	}
	if u.Status == status {
		return nil
	}
	u.Status, u.StatusReason, u.UpdatedAt = status, strings.TrimSpace(reason), s.Now()
	if status == StatusActive {
		// Re-enabling an account idle past the limit would disable it again
		// at once; count from now.
		u.LastSignInAt = s.Now()
	}
	if err := s.store.UpdateUser(ctx, u, audit.New(ctx, typ, "user", id).Fields("status")); err != nil {
		return err
	}
	if status != StatusActive {
		if _, err := s.store.RevokeUserSessions(ctx, id, ""); err != nil {
			return err
		}
	}
	if status == StatusDeleted {
		return s.store.DeleteAllMFA(ctx, id)
	}
	return nil
}

// ForcePasswordReset invalidates an account's password, ends its sessions
// and mails a reset link to its registered address.
func (s *Service) ForcePasswordReset(ctx context.Context, id string) error {
	if _, err := mamori.Require(ctx, mamori.PermUserManage); err != nil {
		return err
	}
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return err
	}
	if u.Status != StatusActive {
		return mamori.Errorf(mamori.ECONFLICT, "The account is not active.")
	}
	h, err := HashPassword(GeneratePassword(), s.cfg.Argon2)
	if err != nil {
		return err
	}
	if err := s.store.SetPassword(ctx, id, h, false, audit.New(ctx, audit.PasswordResetForced, "user", id)); err != nil {
		return err
	}
	if _, err := s.store.RevokeUserSessions(ctx, id, ""); err != nil {
		return err
	}
	tok := randomToken(32)
	now := s.Now()
	if err := s.store.CreateOneTimeToken(ctx, &OneTimeToken{Hash: hashToken(tok), Purpose: "reset", UserID: id,
		CreatedBy: mamori.ActorFrom(ctx).ID(), CreatedAt: now, ExpiresAt: now.Add(resetLifetime)}); err != nil {
		return err
	}
	s.mail(ctx, u.Email, "mamori: password reset required / パスワードの再設定が必要です",
		"管理者があなたのパスワードを無効にしました。30分以内に次のリンクから新しいパスワードを設定してください。\n"+
			"An administrator invalidated your password. Set a new one within 30 minutes at:\n\n"+s.cfg.BaseURL+"/reset/"+tok)
	return nil
}

// ResetMFA removes every second factor of another user (step-up required),
// so they enrol again at their next sign-in; every administrator is told.
func (s *Service) ResetMFA(ctx context.Context, id string) error {
	a, err := s.requireStepUp(ctx, mamori.PermUserManage)
	if err != nil {
		return err
	}
	if a.UserID == id {
		return mamori.Errorf(mamori.EFORBIDDEN, "Manage your own factors on your security page.")
	}
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return err
	}
	if err := s.store.DeleteAllMFA(ctx, id, audit.New(ctx, audit.MFAReset, "user", id)); err != nil {
		return err
	}
	if _, err := s.store.RevokeUserSessions(ctx, id, ""); err != nil {
		return err
	}
	s.notifyAdmins(ctx, "mfa_reset", "A user's multi-factor authentication was reset.",
		fmt.Sprintf("Account: %s\nReset by: %s", u.Email, a.Email))
	return nil
}

// SignInHistory searches sign-in records: administrators and auditors see
// everyone's; a user sees their own.
func (s *Service) SignInHistory(ctx context.Context, f SignInFilter) ([]*SignInEvent, int, error) {
	a, err := mamori.Require(ctx, mamori.Authenticated)
	if err != nil {
		return nil, 0, err
	}
	if !a.Can(mamori.PermSignInRead) {
		f.UserID = a.UserID
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	return s.store.SignInEvents(ctx, f)
}

// LastSignIns returns the user's own recent sign-in records ("last sign-in"
// shown to the user, so they notice a sign-in that was not theirs).
func (s *Service) LastSignIns(ctx context.Context, n int) ([]*SignInEvent, error) {
	a, err := mamori.Require(ctx, mamori.Authenticated)
	if err != nil {
		return nil, err
	}
	ev, _, err := s.store.SignInEvents(ctx, SignInFilter{UserID: a.UserID, Limit: n})
	return ev, err
}

// AccessReview records that a reviewer went through every account.
type AccessReview struct {
	ID         string
	ReviewerID string
	ReviewedAt time.Time
	Note       string
	Accounts   []ReviewedAccount
}

// ReviewedAccount is an account as the reviewer saw it.
type ReviewedAccount struct {
	UserID     string    `json:"user_id"`
	Email      string    `json:"email"`
	Status     string    `json:"status"`
	Roles      []string  `json:"roles"`
	LastSignIn time.Time `json:"last_sign_in"`
	MFA        bool      `json:"mfa"`
	ValidUntil time.Time `json:"valid_until"`
	Decoy      bool      `json:"decoy"`
}

// AccountsJSON is the stored snapshot.
func (r *AccessReview) AccountsJSON() (string, error) {
	b, err := json.Marshal(r.Accounts)
	return string(b), err
}

// RecordAccessReview stores the current list of accounts as reviewed by the
// signed-in user (guideline 2.3.1: account inventory and access review).
func (s *Service) RecordAccessReview(ctx context.Context, note string) (*AccessReview, error) {
	a, err := mamori.Require(ctx, mamori.PermAccessReview)
	if err != nil {
		return nil, err
	}
	users, _, err := s.store.Users(ctx, UserFilter{Limit: 100000, WithMFA: true})
	if err != nil {
		return nil, err
	}
	r := &AccessReview{ID: mamori.NewID(), ReviewerID: a.UserID, ReviewedAt: s.Now(), Note: strings.TrimSpace(note)}
	for _, u := range users {
		r.Accounts = append(r.Accounts, ReviewedAccount{UserID: u.ID, Email: u.Email, Status: u.Status, Roles: u.Roles,
			LastSignIn: u.LastSignInAt, MFA: u.HasMFA(), ValidUntil: u.ValidUntil, Decoy: u.Decoy})
	}
	if err := s.store.AddAccessReview(ctx, r, audit.New(ctx, audit.AccessReviewDone, "access_review", r.ID).With("accounts", len(r.Accounts))); err != nil {
		return nil, err
	}
	return r, nil
}

// AccessReviews lists recorded reviews, newest first.
func (s *Service) AccessReviews(ctx context.Context) ([]*AccessReview, error) {
	if _, err := mamori.Require(ctx, mamori.PermAccessReview); err != nil {
		return nil, err
	}
	return s.store.AccessReviews(ctx, 50)
}

// RunLifecycle disables accounts whose validity ended and accounts unused
// for longer than the configured number of days. The scheduler calls it.
func (s *Service) RunLifecycle(ctx context.Context) (int, error) {
	now := s.Now()
	ctx = mamori.WithActor(ctx, mamori.SystemActor())
	users, _, err := s.store.Users(ctx, UserFilter{Status: StatusActive, Limit: 100000})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range users {
		var reason string
		switch {
		case u.Decoy:
			continue
		case !u.ValidUntil.IsZero() && !now.Before(u.ValidUntil):
			reason = "validity_ended"
		case s.cfg.InactiveDays > 0:
			last := u.LastSignInAt
			if last.IsZero() {
				last = u.CreatedAt
			}
			if now.Sub(last) > time.Duration(s.cfg.InactiveDays)*24*time.Hour {
				reason = fmt.Sprintf("inactive_%d_days", s.cfg.InactiveDays)
			}
		}
		if reason == "" {
			continue
		}
		u.Status, u.StatusReason, u.UpdatedAt = StatusDisabled, reason, now
		if err := s.store.UpdateUser(ctx, u, audit.New(ctx, audit.UserAutoDisabled, "user", u.ID).With("reason", reason)); err != nil {
			return n, err
		}
		if _, err := s.store.RevokeUserSessions(ctx, u.ID, ""); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// CountUsers counts accounts (for start-up hints).
func (s *Service) CountUsers(ctx context.Context) (int, error) { return s.store.CountUsers(ctx) }
