package web

import (
	"net/http"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/auth"
)

// The account pages: what a user sees and manages of their own identity.

type accountPage struct {
	User       *auth.User
	LastSignIn []*auth.SignInEvent
	Sessions   []*auth.Session
	Current    string
	Passkeys   []*auth.Passkey
	Tokens     []*auth.Token
	Recovery   int
	MFANeeded  bool
	NewToken   string
	Now        time.Time
}

func (s *Server) accountData(r *http.Request) (*accountPage, error) {
	p := principal(r)
	ctx := r.Context()
	pg := &accountPage{User: p.User, Current: p.Session.IDHash, Now: s.now()}
	var err error
	if pg.LastSignIn, err = s.svc.Auth.LastSignIns(ctx, 10); err != nil {
		return nil, err
	}
	if pg.Sessions, err = s.svc.Auth.MySessions(ctx); err != nil {
		return nil, err
	}
	if pg.Passkeys, err = s.svc.Auth.MyPasskeys(ctx); err != nil {
		return nil, err
	}
	if pg.Tokens, err = s.svc.Auth.MyTokens(ctx); err != nil {
		return nil, err
	}
	if pg.Recovery, err = s.svc.Auth.RecoveryCodesLeft(ctx, p.User.ID); err != nil {
		return nil, err
	}
	pg.MFANeeded = p.Restriction == "mfa_enrol"
	return pg, nil
}

func (s *Server) account(w http.ResponseWriter, r *http.Request) {
	pg, err := s.accountData(r)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.page(w, r, "account", "My account", pg)
}

func (s *Server) security(w http.ResponseWriter, r *http.Request) {
	pg, err := s.accountData(r)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.page(w, r, "account-security", "Sign-in and security", pg)
}

func (s *Server) updateProfile(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.Auth.UpdateMe(r.Context(), r.PostFormValue("display_name"), r.PostFormValue("locale")); err != nil {
		pg, _ := s.accountData(r)
		s.formError(w, r, "account", "My account", pg, err)
		return
	}
	if l := r.PostFormValue("locale"); l != "" {
		s.setCookie(w, "lang", l, 365*24*3600)
	}
	s.flash(w, "ok", "saved")
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

type reauthPage struct {
	Next     string
	TOTP     bool
	Passkeys bool
}

func (s *Server) reauthForm(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	s.page(w, r, "reauth", "Confirm it is you", reauthPage{Next: safeNext(r.URL.Query().Get("next")), TOTP: p.User.HasTOTP, Passkeys: p.User.Passkeys > 0})
}

func (s *Server) reauth(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	next := safeNext(r.PostFormValue("next"))
	if err := s.svc.Auth.StepUp(r.Context(), p, r.PostFormValue("password"), r.PostFormValue("code"), clientOf(r)); err != nil {
		s.formError(w, r, "reauth", "Confirm it is you", reauthPage{Next: next, TOTP: p.User.HasTOTP, Passkeys: p.User.Passkeys > 0}, err)
		return
	}
	s.rotate(w, r)
	s.flash(w, "ok", "stepped_up")
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) reauthPasskeyBegin(w http.ResponseWriter, r *http.Request) {
	c, err := s.svc.Auth.BeginPasskeyStepUp(r.Context(), principal(r))
	if err != nil {
		s.jsonFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ceremonyJSON{Token: c.Token, Options: c.Options})
}

func (s *Server) reauthPasskeyFinish(w http.ResponseWriter, r *http.Request) {
	body, err := readCeremonyBody(r)
	if err != nil {
		s.jsonFail(w, r, err)
		return
	}
	if err := s.svc.Auth.FinishPasskeyStepUp(r.Context(), principal(r), r.Header.Get("X-Ceremony"), body, clientOf(r)); err != nil {
		s.jsonFail(w, r, err)
		return
	}
	s.rotate(w, r)
	writeJSON(w, http.StatusOK, map[string]string{"redirect": safeNext(r.URL.Query().Get("next"))})
}

type passwordPage struct {
	Policy auth.PasswordPolicy
	Forced bool
}

func (s *Server) passwordForm(w http.ResponseWriter, r *http.Request) {
	s.page(w, r, "password", "Change password", passwordPage{Policy: s.svc.Auth.PasswordPolicy(r.Context()), Forced: principal(r).Restriction == "password_change"})
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	pg := passwordPage{Policy: s.svc.Auth.PasswordPolicy(r.Context())}
	if r.PostFormValue("password") != r.PostFormValue("password_confirm") {
		s.formError(w, r, "password", "Change password", pg, mamori.Invalid("password_confirm", "The two passwords differ."))
		return
	}
	if err := s.svc.Auth.ChangePassword(r.Context(), principal(r), r.PostFormValue("current_password"), r.PostFormValue("password")); err != nil {
		s.formError(w, r, "password", "Change password", pg, err)
		return
	}
	s.flash(w, "ok", "password_changed")
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

type totpPage struct {
	Enrolment *auth.TOTPEnrolment
	Codes     []string
}

func (s *Server) totpForm(w http.ResponseWriter, r *http.Request) {
	e, err := s.svc.Auth.BeginTOTP(r.Context(), principal(r))
	if err != nil {
		s.formError(w, r, "account-security", "Sign-in and security", nil, err)
		return
	}
	s.page(w, r, "totp", "Set up an authenticator app", totpPage{Enrolment: e})
}

func (s *Server) totpConfirm(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	codes, err := s.svc.Auth.ConfirmTOTP(r.Context(), p, r.PostFormValue("token"), r.PostFormValue("code"))
	if err != nil {
		// A fresh secret for the next try: the failed one was never shown
		// as confirmed.
		e, berr := s.svc.Auth.BeginTOTP(r.Context(), p)
		if berr != nil {
			s.pageFail(w, r, berr)
			return
		}
		s.formError(w, r, "totp", "Set up an authenticator app", totpPage{Enrolment: e}, err)
		return
	}
	s.rotate(w, r)
	s.page(w, r, "recovery-codes", "Recovery codes", totpPage{Codes: codes})
}

func (s *Server) totpRemove(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.Auth.RemoveTOTP(r.Context(), principal(r)); err != nil {
		pg, _ := s.accountData(r)
		s.formError(w, r, "account-security", "Sign-in and security", pg, err)
		return
	}
	s.flash(w, "ok", "totp_removed")
	http.Redirect(w, r, "/account/security", http.StatusSeeOther)
}

func (s *Server) recoveryCodes(w http.ResponseWriter, r *http.Request) {
	codes, err := s.svc.Auth.RegenerateRecoveryCodes(r.Context(), principal(r))
	if err != nil {
		pg, _ := s.accountData(r)
		s.formError(w, r, "account-security", "Sign-in and security", pg, err)
		return
	}
	s.page(w, r, "recovery-codes", "Recovery codes", totpPage{Codes: codes})
}

func (s *Server) passkeyRegisterBegin(w http.ResponseWriter, r *http.Request) {
	c, err := s.svc.Auth.BeginPasskeyRegistration(r.Context(), principal(r))
	if err != nil {
		s.jsonFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ceremonyJSON{Token: c.Token, Options: c.Options})
}

func (s *Server) passkeyRegisterFinish(w http.ResponseWriter, r *http.Request) {
	body, err := readCeremonyBody(r)
	if err != nil {
		s.jsonFail(w, r, err)
		return
	}
	if _, err := s.svc.Auth.FinishPasskeyRegistration(r.Context(), principal(r), r.Header.Get("X-Ceremony"), r.URL.Query().Get("name"), body); err != nil {
		s.jsonFail(w, r, err)
		return
	}
	s.rotate(w, r)
	s.flash(w, "ok", "passkey_added")
	writeJSON(w, http.StatusOK, map[string]string{"redirect": "/account/security"})
}

func (s *Server) passkeyRemove(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.Auth.RemovePasskey(r.Context(), principal(r), r.PathValue("id")); err != nil {
		pg, _ := s.accountData(r)
		s.formError(w, r, "account-security", "Sign-in and security", pg, err)
		return
	}
	s.flash(w, "ok", "passkey_removed")
	http.Redirect(w, r, "/account/security", http.StatusSeeOther)
}

func (s *Server) revokeSession(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.Auth.RevokeMySession(r.Context(), r.PathValue("id")); err != nil {
		s.pageFail(w, r, err)
		return
	}
	if r.PathValue("id") == principal(r).Session.IDHash {
		s.setCookie(w, "session", "", -1)
		http.Redirect(w, r, "/sign-in", http.StatusSeeOther)
		return
	}
	s.flash(w, "ok", "session_revoked")
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	days := atoiDefault(r.PostFormValue("days"), 90)
	_, secret, err := s.svc.Auth.CreateToken(r.Context(), r.PostFormValue("name"), r.PostFormValue("scope"), s.now().Add(time.Duration(days)*24*time.Hour))
	if err != nil {
		pg, _ := s.accountData(r)
		s.formError(w, r, "account", "My account", pg, err)
		return
	}
	pg, err := s.accountData(r)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	// The secret is shown once, on this response only.
	pg.NewToken = secret
	s.page(w, r, "account", "My account", pg)
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.Auth.RevokeToken(r.Context(), r.PathValue("id")); err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.flash(w, "ok", "token_revoked")
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

func (s *Server) notifications(w http.ResponseWriter, r *http.Request) {
	ns, err := s.svc.Auth.MyNotifications(r.Context(), 100)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.page(w, r, "notifications", "Notifications", ns)
}

func (s *Server) notificationsRead(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.Auth.MarkNotificationsRead(r.Context()); err != nil {
		s.pageFail(w, r, err)
		return
	}
	http.Redirect(w, r, "/notifications", http.StatusSeeOther)
}
