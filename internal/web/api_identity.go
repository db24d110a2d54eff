package web

import (
	"net/http"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/auth"
)

// API representations. Personal data (names, addresses) is masked for
// callers without the personal-data permission.

type apiUser struct {
	ID          string    `json:"id"`
	Email       string    `json:"email"`
	DisplayName string    `json:"display_name"`
	Department  string    `json:"department"`
	Status      string    `json:"status"`
	Roles       []string  `json:"roles"`
	MFA         bool      `json:"mfa"`
	LastSignIn  time.Time `json:"last_sign_in_at"`
	ValidFrom   time.Time `json:"valid_from"`
	ValidUntil  time.Time `json:"valid_until"`
	CreatedAt   time.Time `json:"created_at"`
}

func maskPersonal(a *mamori.Actor, s string) string {
	if a != nil && a.Can(mamori.PermPersonalRead) || s == "" {
		return s
	}
	return "***"
}

func toAPIUser(a *mamori.Actor, u *auth.User) apiUser {
	roles := u.Roles
	if roles == nil {
		roles = []string{}
	}
	return apiUser{ID: u.ID, Email: maskPersonal(a, u.Email), DisplayName: maskPersonal(a, u.DisplayName),
		Department: u.Department, Status: u.Status, Roles: roles, MFA: u.HasMFA(), LastSignIn: u.LastSignInAt,
		ValidFrom: u.ValidFrom, ValidUntil: u.ValidUntil, CreatedAt: u.CreatedAt}
}

type apiMe struct {
	apiUser
	Permissions []string `json:"permissions"`
	TokenScope  string   `json:"token_scope"`
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request) {
	a := mamori.ActorFrom(r.Context())
	u, err := s.svc.Auth.Me(r.Context())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	me := apiMe{apiUser: toAPIUser(a, u), TokenScope: "write", Permissions: []string{}}
	if a.ReadOnly {
		me.TokenScope = "read"
	}
	for _, p := range mamori.AllPermissions() {
		if a.Can(p) {
			me.Permissions = append(me.Permissions, string(p))
		}
	}
	me.Email = u.Email // one's own address is never masked
	writeJSON(w, http.StatusOK, me)
}

func (s *Server) apiUsers(w http.ResponseWriter, r *http.Request) {
	a := mamori.ActorFrom(r.Context())
	limit, offset := pagination(r)
	q := r.URL.Query()
	users, total, err := s.svc.Auth.Users(r.Context(), auth.UserFilter{Query: q.Get("q"), Status: q.Get("status"), Role: q.Get("role"), Limit: limit, Offset: offset})
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	out := Page[apiUser]{Items: []apiUser{}, Total: total, Limit: limit, Offset: offset}
	for _, u := range users {
		out.Items = append(out.Items, toAPIUser(a, u))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiUser(w http.ResponseWriter, r *http.Request) {
	u, err := s.svc.Auth.User(r.Context(), r.PathValue("id"))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toAPIUser(mamori.ActorFrom(r.Context()), u))
}

type apiSignIn struct {
	ID         string    `json:"id"`
	At         time.Time `json:"at"`
	UserID     string    `json:"user_id"`
	Login      string    `json:"login"`
	Action     string    `json:"action"`
	Factor     string    `json:"factor"`
	Outcome    string    `json:"outcome"`
	Reason     string    `json:"reason"`
	RemoteAddr string    `json:"remote_addr"`
	UserAgent  string    `json:"user_agent"`
}

func (s *Server) apiSignIns(w http.ResponseWriter, r *http.Request) {
	f, _, err := s.signInFilter(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	evs, total, err := s.svc.Auth.SignInHistory(r.Context(), f)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	a := mamori.ActorFrom(r.Context())
	out := Page[apiSignIn]{Items: []apiSignIn{}, Total: total, Limit: f.Limit, Offset: f.Offset}
	for _, e := range evs {
		out.Items = append(out.Items, apiSignIn{ID: e.ID, At: e.At, UserID: e.UserID, Login: maskPersonal(a, e.Login), Action: e.Action,
			Factor: e.Factor, Outcome: e.Outcome, Reason: e.Reason, RemoteAddr: e.RemoteAddr, UserAgent: e.UserAgent})
	}
	writeJSON(w, http.StatusOK, out)
}

type apiRole struct {
	ID          string   `json:"id"`
	NameJA      string   `json:"name_ja"`
	NameEN      string   `json:"name_en"`
	Description string   `json:"description"`
	Permissions []string `json:"permissions"`
}

func (s *Server) apiRoles(w http.ResponseWriter, r *http.Request) {
	var out []apiRole
	for _, ro := range auth.Roles() {
		ar := apiRole{ID: ro.ID, NameJA: ro.NameJA, NameEN: ro.NameEN, Description: ro.Description}
		for _, p := range ro.Perms {
			ar.Permissions = append(ar.Permissions, string(p))
		}
		out = append(out, ar)
	}
	writeJSON(w, http.StatusOK, out)
}

type apiApproval struct {
	ID           string    `json:"id"`
	Kind         string    `json:"kind"`
	TargetType   string    `json:"target_type"`
	TargetID     string    `json:"target_id"`
	Summary      string    `json:"summary"`
	Reason       string    `json:"reason"`
	RequiredPerm string    `json:"required_permission"`
	RequestedBy  string    `json:"requested_by"`
	RequestedAt  time.Time `json:"requested_at"`
	Status       string    `json:"status"`
	DecidedBy    string    `json:"decided_by"`
	DecidedAt    time.Time `json:"decided_at"`
	DecisionNote string    `json:"decision_note"`
	ExpiresAt    time.Time `json:"expires_at"`
}

func toAPIApproval(a *auth.Approval) apiApproval {
	return apiApproval{ID: a.ID, Kind: a.Kind, TargetType: a.TargetType, TargetID: a.TargetID, Summary: a.Summary, Reason: a.Reason,
		RequiredPerm: string(a.RequiredPerm), RequestedBy: a.RequestedBy, RequestedAt: a.RequestedAt, Status: a.Status,
		DecidedBy: a.DecidedBy, DecidedAt: a.DecidedAt, DecisionNote: a.DecisionNote, ExpiresAt: a.ExpiresAt}
}

func (s *Server) apiApprovals(w http.ResponseWriter, r *http.Request) {
	list, err := s.svc.Auth.Approvals(r.Context(), auth.ApprovalFilter{Status: r.URL.Query().Get("status")})
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	out := []apiApproval{}
	for _, a := range list {
		out = append(out, toAPIApproval(a))
	}
	writeJSON(w, http.StatusOK, out)
}

type apiDecision struct {
	Approve bool   `json:"approve"`
	Note    string `json:"note"`
}

func (s *Server) apiDecideApproval(w http.ResponseWriter, r *http.Request) {
	var in apiDecision
	if err := decodeJSON(r, &in); err != nil {
		s.apiFail(w, r, err)
		return
	}
	a, err := s.svc.Auth.DecideApproval(r.Context(), r.PathValue("id"), in.Approve, in.Note)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toAPIApproval(a))
}
