package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/auth"
)

// Administration: accounts, roles, sign-in history, locks, access reviews,
// security settings, approvals.

func (s *Server) adminHome(w http.ResponseWriter, r *http.Request) {
	a := principal(r).Actor
	switch {
	case a.Can(mamori.PermUserManage):
		http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
	case a.Can(mamori.PermAuditRead):
		http.Redirect(w, r, "/admin/audit", http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/admin/sign-ins", http.StatusSeeOther)
	}
}

type usersPage struct {
	Users  []*auth.User
	Total  int
	Query  string
	Status string
	Role   string
}

func (s *Server) adminUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pg := usersPage{Query: q.Get("q"), Status: q.Get("status"), Role: q.Get("role")}
	var err error
	pg.Users, pg.Total, err = s.svc.Auth.Users(r.Context(), auth.UserFilter{Query: pg.Query, Status: pg.Status, Role: pg.Role, Limit: 500})
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.page(w, r, "admin-users", "Users", pg)
}

func (s *Server) adminUserNew(w http.ResponseWriter, r *http.Request) {
	s.page(w, r, "admin-user-new", "Invite a user", nil)
}

// parseDate reads a yyyy-mm-dd field as the start of that day in Tokyo.
func parseDate(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	return time.ParseInLocation("2006-01-02", v, tokyo)
}

func userInput(r *http.Request) (auth.UserInput, error) {
	f := mamori.FieldErrors{}
	in := auth.UserInput{
		Email: r.PostFormValue("email"), DisplayName: r.PostFormValue("display_name"),
		Department: r.PostFormValue("department"), Locale: r.PostFormValue("locale"),
		Roles: r.PostForm["roles"], Decoy: r.PostFormValue("decoy") == "on",
	}
	var err error
	if in.ValidFrom, err = parseDate(r.PostFormValue("valid_from")); err != nil {
		f.Add("valid_from", "Enter a date as YYYY-MM-DD.")
	}
	if in.ValidUntil, err = parseDate(r.PostFormValue("valid_until")); err != nil {
		f.Add("valid_until", "Enter a date as YYYY-MM-DD.")
	}
	return in, f.Err()
}

func (s *Server) adminInvite(w http.ResponseWriter, r *http.Request) {
	in, err := userInput(r)
	if err == nil {
		if in.Decoy {
			_, _, err = s.svc.Auth.CreateWithPassword(r.Context(), in, "")
		} else {
			err = s.svc.Auth.Invite(r.Context(), in)
		}
	}
	if err != nil {
		s.formError(w, r, "admin-user-new", "Invite a user", nil, err)
		return
	}
	s.flash(w, "ok", "invited")
	http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
}

type userPage struct {
	U        *auth.User
	Sessions []*auth.Session
	History  []*auth.SignInEvent
	Self     bool
}

func (s *Server) adminUserData(r *http.Request) (*userPage, error) {
	id := r.PathValue("id")
	u, err := s.svc.Auth.User(r.Context(), id)
	if err != nil {
		return nil, err
	}
	pg := &userPage{U: u, Self: principal(r).User.ID == id}
	if pg.Sessions, err = s.svc.Auth.UserSessions(r.Context(), id); err != nil {
		return nil, err
	}
	if pg.History, _, err = s.svc.Auth.SignInHistory(r.Context(), auth.SignInFilter{UserID: id, Limit: 20}); err != nil {
		return nil, err
	}
	return pg, nil
}

func (s *Server) adminUser(w http.ResponseWriter, r *http.Request) {
	pg, err := s.adminUserData(r)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.page(w, r, "admin-user", pg.U.Email, pg)
}

// adminUserAction runs one account action and returns to the account page.
func (s *Server) adminUserAction(flashKey string, act func(r *http.Request, id string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if err := act(r, id); err != nil {
			pg, perr := s.adminUserData(r)
			if perr != nil {
				s.pageFail(w, r, err)
				return
			}
			s.formError(w, r, "admin-user", pg.U.Email, pg, err)
			return
		}
		s.flash(w, "ok", flashKey)
		http.Redirect(w, r, "/admin/users/"+id, http.StatusSeeOther)
	}
}

func (s *Server) adminUserUpdate(r *http.Request, id string) error {
	in, err := userInput(r)
	if err != nil {
		return err
	}
	_, err = s.svc.Auth.UpdateUser(r.Context(), id, in)
	return err
}

type rolesPage struct {
	Roles []auth.Role
	Perms []mamori.Permission
}

func (s *Server) adminRoles(w http.ResponseWriter, r *http.Request) {
	s.page(w, r, "admin-roles", "Roles and permissions", rolesPage{Roles: auth.Roles(), Perms: mamori.AllPermissions()})
}

// HasPerm is used by the roles template.
func (rp rolesPage) HasPerm(role auth.Role, p mamori.Permission) bool {
	for _, x := range role.Perms {
		if x == p {
			return true
		}
	}
	return false
}

type signInsPage struct {
	Events  []*auth.SignInEvent
	Total   int
	Login   string
	Addr    string
	Outcome string
	Since   string
	Until   string
	Offset  int
	Limit   int
}

func (s *Server) signInFilter(r *http.Request) (auth.SignInFilter, signInsPage, error) {
	q := r.URL.Query()
	pg := signInsPage{Login: q.Get("login"), Addr: q.Get("addr"), Outcome: q.Get("outcome"), Since: q.Get("since"), Until: q.Get("until")}
	pg.Limit, pg.Offset = pagination(r)
	f := auth.SignInFilter{Login: pg.Login, RemoteAddr: pg.Addr, Outcome: pg.Outcome, Limit: pg.Limit, Offset: pg.Offset}
	fe := mamori.FieldErrors{}
	var err error
	if f.Since, err = parseDate(pg.Since); err != nil {
		fe.Add("since", "Enter a date as YYYY-MM-DD.")
	}
	if f.Until, err = parseDate(pg.Until); err != nil {
		fe.Add("until", "Enter a date as YYYY-MM-DD.")
	} else if !f.Until.IsZero() {
		f.Until = f.Until.Add(24 * time.Hour)
	}
	if pg.Outcome != "" && pg.Outcome != auth.OutcomeSuccess && pg.Outcome != auth.OutcomeFailure {
		fe.Add("outcome", "Choose success or failure.")
	}
	return f, pg, fe.Err()
}

func (s *Server) adminSignIns(w http.ResponseWriter, r *http.Request) {
	f, pg, err := s.signInFilter(r)
	if err == nil {
		pg.Events, pg.Total, err = s.svc.Auth.SignInHistory(r.Context(), f)
	}
	if err != nil {
		s.formError(w, r, "admin-sign-ins", "Sign-in history", pg, err)
		return
	}
	s.page(w, r, "admin-sign-ins", "Sign-in history", pg)
}

func (s *Server) adminLocks(w http.ResponseWriter, r *http.Request) {
	locks, err := s.svc.Auth.LockedKeys(r.Context())
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.page(w, r, "admin-locks", "Locked accounts and addresses", locks)
}

func (s *Server) adminUnlock(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.Auth.Unlock(r.Context(), r.PostFormValue("key")); err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.flash(w, "ok", "unlocked")
	http.Redirect(w, r, "/admin/locks", http.StatusSeeOther)
}

type accessReviewPage struct {
	Users   []*auth.User
	Reviews []*auth.AccessReview
	Now     time.Time
}

func (s *Server) adminAccessReview(w http.ResponseWriter, r *http.Request) {
	users, _, err := s.svc.Auth.Users(r.Context(), auth.UserFilter{Limit: 500, WithMFA: true})
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	reviews, err := s.svc.Auth.AccessReviews(r.Context())
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.page(w, r, "admin-access-review", "Access review", accessReviewPage{Users: users, Reviews: reviews, Now: s.now()})
}

func (s *Server) adminAccessReviewRecord(w http.ResponseWriter, r *http.Request) {
	if _, err := s.svc.Auth.RecordAccessReview(r.Context(), r.PostFormValue("note")); err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.flash(w, "ok", "review_recorded")
	http.Redirect(w, r, "/admin/access-review", http.StatusSeeOther)
}

type settingsPage struct {
	Settings auth.SecuritySettings
	Policies []auth.PasswordPolicy
}

func (s *Server) adminSettings(w http.ResponseWriter, r *http.Request) {
	st, err := s.svc.Auth.Settings(r.Context())
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.page(w, r, "admin-settings", "Security settings", settingsPage{Settings: st, Policies: auth.Policies})
}

func (s *Server) adminSettingsSave(w http.ResponseWriter, r *http.Request) {
	in := auth.SecuritySettings{PasswordLevel: auth.PasswordLevel(atoiDefault(r.PostFormValue("password_level"), 0)),
		MFAForAll: r.PostFormValue("mfa_all") == "on"}
	if err := s.svc.Auth.UpdateSettings(r.Context(), in); err != nil {
		st, _ := s.svc.Auth.Settings(r.Context())
		s.formError(w, r, "admin-settings", "Security settings", settingsPage{Settings: st, Policies: auth.Policies}, err)
		return
	}
	s.flash(w, "ok", "saved")
	http.Redirect(w, r, "/admin/settings", http.StatusSeeOther)
}

type approvalsPage struct {
	Approvals []*auth.Approval
	Status    string
	Me        string
}

func (s *Server) approvals(w http.ResponseWriter, r *http.Request) {
	st := r.URL.Query().Get("status")
	if st == "" {
		st = auth.ApprovalPending
	}
	list, err := s.svc.Auth.Approvals(r.Context(), auth.ApprovalFilter{Status: st})
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.page(w, r, "approvals", "Approvals", approvalsPage{Approvals: list, Status: st, Me: principal(r).User.ID})
}

func (s *Server) decideApproval(w http.ResponseWriter, r *http.Request) {
	approve := r.PostFormValue("decision") == "approve"
	if _, err := s.svc.Auth.DecideApproval(r.Context(), r.PathValue("id"), approve, r.PostFormValue("note")); err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.flash(w, "ok", "decided")
	http.Redirect(w, r, "/approvals", http.StatusSeeOther)
}

func (s *Server) withdrawApproval(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.Auth.WithdrawApproval(r.Context(), r.PathValue("id")); err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.flash(w, "ok", "decided")
	http.Redirect(w, r, "/approvals", http.StatusSeeOther)
}
