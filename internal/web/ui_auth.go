package web

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/auth"
	"github.com/mamori-dev/mamori/internal/i18n"
)

// Sign-in, second factor, passkeys, reset and invitation pages. Every
// answer to an unauthenticated form is the same for existing and unknown
// accounts.

type signInPage struct {
	Next string
}

func (s *Server) signInForm(w http.ResponseWriter, r *http.Request) {
	if principal(r) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.page(w, r, "sign-in", "Sign in", signInPage{Next: safeNext(r.URL.Query().Get("next"))})
}

const mfaCookieAge = 300

func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.PostFormValue("next"))
	ctx := auth.WithRequestID(r.Context(), requestID(r))
	res, err := s.svc.Auth.SignIn(ctx, r.PostFormValue("email"), r.PostFormValue("password"), signInClient(r))
	if err != nil {
		s.formError(w, r, "sign-in", "Sign in", signInPage{Next: next}, err)
		return
	}
	if res.MFAToken != "" {
		s.setCookie(w, "mfa", res.MFAToken, mfaCookieAge)
		http.Redirect(w, r, "/sign-in/mfa?next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	}
	s.startSession(w, r, res.Session, next)
}

// signInClient is the client of a sign-in request; a session the browser
// already holds is replaced (rotated) by the new one.
func signInClient(r *http.Request) auth.Client {
	c := clientOf(r)
	if p := principal(r); p != nil {
		c.Session = p.Session.IDHash
	}
	return c
}

// rotate gives the signed-in user a new session ID after a change of
// privilege (MFA enrolled, re-authentication).
func (s *Server) rotate(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	ns, err := s.svc.Auth.RotateSession(r.Context(), p, clientOf(r))
	if err != nil {
		s.log.WarnContext(r.Context(), "rotate session", "request_id", requestID(r), "error", err)
		return
	}
	s.setCookie(w, "session", ns.Token, 0)
	p.Session = ns.Session
}

// startSession sets the (new, rotated) session cookie and moves on.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, ns *auth.NewSession, next string) {
	s.setCookie(w, "session", ns.Token, 0)
	s.setCookie(w, "mfa", "", -1)
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
}

type mfaPage struct {
	Next    string
	Passkey bool
}

func (s *Server) mfaForm(w http.ResponseWriter, r *http.Request) {
	if s.cookie(r, "mfa") == "" {
		http.Redirect(w, r, "/sign-in", http.StatusSeeOther)
		return
	}
	s.page(w, r, "sign-in-mfa", "Two-step verification", mfaPage{Next: safeNext(r.URL.Query().Get("next"))})
}

func (s *Server) mfaSubmit(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.PostFormValue("next"))
	ctx := auth.WithRequestID(r.Context(), requestID(r))
	ns, err := s.svc.Auth.VerifyMFA(ctx, s.cookie(r, "mfa"), r.PostFormValue("code"), signInClient(r))
	if err != nil {
		if errors.Is(err, auth.ErrSessionEnded) {
			http.Redirect(w, r, "/sign-in", http.StatusSeeOther)
			return
		}
		s.formError(w, r, "sign-in-mfa", "Two-step verification", mfaPage{Next: next}, err)
		return
	}
	s.startSession(w, r, ns, next)
}

// readCeremonyBody reads the browser's WebAuthn JSON answer.
func readCeremonyBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, decodeErr(err)
	}
	return b, nil
}

// ceremonyJSON answers the page's script.
type ceremonyJSON struct {
	Token   string `json:"token"`
	Options any    `json:"options"`
}

func (s *Server) jsonFail(w http.ResponseWriter, r *http.Request, err error) { s.apiFail(w, r, err) }

func (s *Server) passkeyMFABegin(w http.ResponseWriter, r *http.Request) {
	c, err := s.svc.Auth.BeginPasskeyMFA(r.Context(), s.cookie(r, "mfa"))
	if err != nil {
		s.jsonFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ceremonyJSON{Token: c.Token, Options: c.Options})
}

func (s *Server) passkeyMFAFinish(w http.ResponseWriter, r *http.Request) {
	body, err := readCeremonyBody(r)
	if err != nil {
		s.jsonFail(w, r, err)
		return
	}
	ctx := auth.WithRequestID(r.Context(), requestID(r))
	ns, err := s.svc.Auth.FinishPasskeyMFA(ctx, s.cookie(r, "mfa"), r.Header.Get("X-Ceremony"), body, signInClient(r))
	if err != nil {
		s.jsonFail(w, r, err)
		return
	}
	s.setCookie(w, "session", ns.Token, 0)
	s.setCookie(w, "mfa", "", -1)
	writeJSON(w, http.StatusOK, map[string]string{"redirect": safeNext(r.URL.Query().Get("next"))})
}

func (s *Server) passkeySignInBegin(w http.ResponseWriter, r *http.Request) {
	c, err := s.svc.Auth.BeginPasskeySignIn(r.Context())
	if err != nil {
		s.jsonFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ceremonyJSON{Token: c.Token, Options: c.Options})
}

func (s *Server) passkeySignInFinish(w http.ResponseWriter, r *http.Request) {
	body, err := readCeremonyBody(r)
	if err != nil {
		s.jsonFail(w, r, err)
		return
	}
	ctx := auth.WithRequestID(r.Context(), requestID(r))
	ns, err := s.svc.Auth.FinishPasskeySignIn(ctx, r.Header.Get("X-Ceremony"), body, signInClient(r))
	if err != nil {
		s.jsonFail(w, r, err)
		return
	}
	s.setCookie(w, "session", ns.Token, 0)
	writeJSON(w, http.StatusOK, map[string]string{"redirect": safeNext(r.URL.Query().Get("next"))})
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	if p := principal(r); p != nil {
		if err := s.svc.Auth.SignOut(r.Context(), p); err != nil && mamori.ErrorCode(err) != mamori.ENOTFOUND {
			s.pageFail(w, r, err)
			return
		}
	}
	s.setCookie(w, "session", "", -1)
	s.flash(w, "ok", "signed_out")
	http.Redirect(w, r, "/sign-in", http.StatusSeeOther)
}

func (s *Server) resetRequestForm(w http.ResponseWriter, r *http.Request) {
	s.page(w, r, "reset-request", "Forgot your password?", nil)
}

// resetRequest answers identically whether or not the address exists.
func (s *Server) resetRequest(w http.ResponseWriter, r *http.Request) {
	ctx := auth.WithRequestID(r.Context(), requestID(r))
	err := s.svc.Auth.RequestPasswordReset(ctx, r.PostFormValue("email"), clientOf(r))
	if err != nil && mamori.ErrorCode(err) != mamori.EINTERNAL {
		s.formError(w, r, "reset-request", "Forgot your password?", nil, err)
		return
	}
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.flash(w, "ok", "reset_sent")
	http.Redirect(w, r, "/sign-in", http.StatusSeeOther)
}

type setPasswordPage struct {
	Token   string
	Purpose string
	Valid   bool
	Policy  auth.PasswordPolicy
}

func (s *Server) setPasswordPage(r *http.Request, purpose string) setPasswordPage {
	tok := r.PathValue("token")
	return setPasswordPage{Token: tok, Purpose: purpose, Policy: s.svc.Auth.PasswordPolicy(r.Context()),
		Valid: s.svc.Auth.CheckResetToken(r.Context(), tok, purpose) == nil}
}

func (s *Server) resetForm(w http.ResponseWriter, r *http.Request) {
	s.page(w, r, "set-password", "Set a new password", s.setPasswordPage(r, "reset"))
}

func (s *Server) inviteForm(w http.ResponseWriter, r *http.Request) {
	s.page(w, r, "set-password", "Welcome to mamori", s.setPasswordPage(r, "invite"))
}

func (s *Server) setPassword(purpose string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		page := s.setPasswordPage(r, purpose)
		if r.PostFormValue("password") != r.PostFormValue("password_confirm") {
			s.formError(w, r, "set-password", "Set a new password", page,
				mamori.Invalid("password_confirm", "The two passwords differ."))
			return
		}
		ctx := auth.WithRequestID(r.Context(), requestID(r))
		if err := s.svc.Auth.ResetPassword(ctx, page.Token, purpose, r.PostFormValue("password"), clientOf(r)); err != nil {
			page.Valid = s.svc.Auth.CheckResetToken(r.Context(), page.Token, purpose) == nil
			s.formError(w, r, "set-password", "Set a new password", page, err)
			return
		}
		s.setCookie(w, "session", "", -1)
		s.flash(w, "ok", "password_set")
		http.Redirect(w, r, "/sign-in", http.StatusSeeOther)
	}
}

// setLanguage stores the language choice: in the account of a signed-in
// user, else in a cookie.
func (s *Server) setLanguage(w http.ResponseWriter, r *http.Request) {
	l, ok := i18n.Parse(r.PostFormValue("lang"))
	if !ok {
		s.pageFail(w, r, mamori.Invalid("lang", "Choose Japanese or English."))
		return
	}
	s.setCookie(w, "lang", string(l), int((365 * 24 * time.Hour).Seconds()))
	if p := principal(r); p != nil && p.Restriction == "" {
		_ = s.svc.Auth.UpdateMe(r.Context(), p.User.DisplayName, string(l))
	}
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}
