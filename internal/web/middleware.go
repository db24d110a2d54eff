package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/auth"
	"github.com/mamori-dev/mamori/internal/i18n"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyLang
	keyPrincipal
	keyRoute
	keyClient
	keyAnonCSRF
)

func requestID(r *http.Request) string { s, _ := r.Context().Value(keyRequestID).(string); return s }
func langOf(r *http.Request) i18n.Lang {
	if l, ok := r.Context().Value(keyLang).(i18n.Lang); ok {
		return l
	}
	return i18n.Default
}
func principal(r *http.Request) *auth.Principal {
	p, _ := r.Context().Value(keyPrincipal).(*auth.Principal)
	return p
}
func routeOf(r *http.Request) *Route { rt, _ := r.Context().Value(keyRoute).(*Route); return rt }
func clientOf(r *http.Request) auth.Client {
	c, _ := r.Context().Value(keyClient).(auth.Client)
	return c
}

func routePattern(r *http.Request) string {
	if rt := routeOf(r); rt != nil {
		return rt.Method + " " + rt.Pattern
	}
	return "unmatched"
}

func with(r *http.Request, k ctxKey, v any) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), k, v))
}

// statusWriter records the status and size for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// base wraps the whole mux: request ID, client address, access log,
// metrics, panic recovery and security headers apply to every response,
// including 404s.
func (s *Server) base(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		r = with(r, keyRequestID, id)
		r = with(r, keyClient, auth.Client{Addr: s.clientAddr(r), UserAgent: r.UserAgent()})
		r = with(r, keyLang, i18n.Negotiate(s.langCookie(r), r.Header.Get("Accept-Language")))
		sw := &statusWriter{ResponseWriter: w}
		sw.Header().Set("X-Request-ID", id)
		s.securityHeaders(sw.Header())
		// The route is recorded by the route's own handler; a holder lets the
		// outer layers read it after the mux has run.
		holder := &routeHolder{}
		r = r.WithContext(context.WithValue(r.Context(), routeHolderKey{}, holder))
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.ErrorContext(r.Context(), "panic", slog.String("request_id", id), slog.Any("panic", p),
					slog.String("stack", string(debug.Stack())))
				if sw.status == 0 {
					http.Error(sw, "Internal error / 内部エラー", http.StatusInternalServerError)
				}
			}
			pattern := "unmatched"
			if holder.route != nil {
				pattern = holder.route.Method + " " + holder.route.Pattern
			}
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			d := time.Since(start)
			s.metrics.observe(pattern, sw.status, d)
			attrs := []slog.Attr{
				slog.String("request_id", id), slog.String("method", r.Method),
				// The path only: query strings may carry search terms.
				slog.String("path", r.URL.Path), slog.String("route", pattern),
				slog.Int("status", sw.status), slog.Int64("bytes", sw.bytes),
				slog.Float64("ms", float64(d.Microseconds())/1000), slog.String("addr", clientOf(r).Addr),
			}
			if p := holder.principal; p != nil {
				attrs = append(attrs, slog.String("user_id", p.User.ID))
			}
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
		}()
		next.ServeHTTP(sw, r)
	})
}

type routeHolderKey struct{}

type routeHolder struct {
	route     *Route
	principal *auth.Principal
}

func holderOf(r *http.Request) *routeHolder {
	h, _ := r.Context().Value(routeHolderKey{}).(*routeHolder)
	return h
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// contentSecurityPolicy allows nothing inline: every script and style is a
// file served by mamori itself.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; " +
	"object-src 'none'; manifest-src 'self'"

func (s *Server) securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()")
	if s.secure {
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
}

// clientAddr is the peer address, or the address a trusted proxy reports
// (the right-most X-Forwarded-For entry that is not itself a trusted proxy).
func (s *Server) clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(peer) {
		return host
	}
	parts := strings.Split(r.Header.Get("X-Forwarded-For"), ",")
	for i := len(parts) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(parts[i]))
		if err != nil {
			break
		}
		if !s.trusted(a) {
			return a.String()
		}
	}
	return host
}

func (s *Server) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// cookie names: with HTTPS, the __Host- prefix pins cookies to this origin.
func (s *Server) cookieName(base string) string {
	if s.secure {
		return "__Host-mamori-" + base
	}
	return "mamori_" + base
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(name), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) cookie(r *http.Request, name string) string {
	c, err := r.Cookie(s.cookieName(name))
	if err != nil {
		return ""
	}
	return c.Value
}

func (s *Server) langCookie(r *http.Request) string { return s.cookie(r, "lang") }

// handlerFor builds the chain of one route: authentication for its kind,
// authorization against its permission, CSRF for unsafe page requests,
// body limits, step-up, then the handler.
func (s *Server) handlerFor(rt *Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		holder := holderOf(r)
		if holder != nil {
			holder.route = rt
		}
		r = with(r, keyRoute, rt)
		limit := s.cfg.MaxBodyBytes
		if rt.Upload {
			limit = s.cfg.MaxUploadBytes
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		switch rt.Kind {
		case KindAPI, KindSystem:
			// System routes (health, metrics, static files) take bearer
			// tokens like the API: a scraper has no session.
			s.serveAPI(w, r, rt)
		default:
			s.servePage(w, r, rt)
		}
	})
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, rt *Route) {
	w.Header().Set("Cache-Control", "no-store")
	var actor *mamori.Actor
	if authz := r.Header.Get("Authorization"); authz != "" {
		tok, ok := strings.CutPrefix(authz, "Bearer ")
		if !ok {
			s.apiFail(w, r, mamori.Errorf(mamori.EUNAUTHENTICATED, "Use an Authorization: Bearer token."))
			return
		}
		a, err := s.authenticateBearer(r, strings.TrimSpace(tok))
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		actor = a
	}
	// The REST API never accepts cookies: a cross-site request cannot ride
	// on a browser session.
	if rt.Perm != mamori.Public {
		if actor == nil {
			refused(w, "unauthenticated")
			w.Header().Set("WWW-Authenticate", `Bearer realm="mamori"`)
			s.apiFail(w, r, mamori.Errorf(mamori.EUNAUTHENTICATED, "An API token is required."))
			return
		}
		if !actor.Can(rt.Perm) {
			refused(w, "permission")
			s.denied(r, actor)
			s.apiFail(w, r, mamori.Errorf(mamori.EFORBIDDEN, "You do not have permission to do this."))
			return
		}
	}
	if actor != nil {
		actor.RequestID = requestID(r)
		r = r.WithContext(mamori.WithActor(r.Context(), actor))
	}
	rt.Handler(w, r)
}

func (s *Server) authenticateBearer(r *http.Request, tok string) (*mamori.Actor, error) {
	if s.cfg.MetricsToken != "" && constantTimeEqual(tok, s.cfg.MetricsToken) {
		return &mamori.Actor{UserID: "metrics", Perms: map[mamori.Permission]bool{mamori.PermMetricsRead: true}, ReadOnly: true}, nil
	}
	return s.svc.Auth.AuthenticateToken(r.Context(), tok, clientOf(r))
}

// denied logs a refusal (not in the audit trail: a denied request changes
// nothing, and flooding the trail would be a cheap attack).
func (s *Server) denied(r *http.Request, a *mamori.Actor) {
	s.log.WarnContext(r.Context(), "access denied", slog.String("request_id", requestID(r)),
		slog.String("route", routePattern(r)), slog.String("user_id", a.ID()))
}

// unrestricted lists the pages a restricted session (MFA to enrol, password
// to change) may still use.
func unrestricted(rt *Route) bool { return rt.AllowRestricted }

func (s *Server) servePage(w http.ResponseWriter, r *http.Request, rt *Route) {
	var p *auth.Principal
	if tok := s.cookie(r, "session"); tok != "" {
		pr, err := s.svc.Auth.Authenticate(r.Context(), tok, clientOf(r))
		switch {
		case err == nil:
			p = pr
		case mamori.ErrorCode(err) == mamori.EUNAUTHENTICATED:
			s.setCookie(w, "session", "", -1)
		default:
			s.pageFail(w, r, err)
			return
		}
	}
	if p != nil {
		p.Actor.RequestID = requestID(r)
		r = with(r, keyPrincipal, p)
		r = r.WithContext(mamori.WithActor(r.Context(), p.Actor))
		if l, ok := i18n.Parse(p.User.Locale); ok {
			r = with(r, keyLang, l)
		}
		if h := holderOf(r); h != nil {
			h.principal = p
		}
	}
	// Pages carry session data or CSRF tokens: never cache them.
	w.Header().Set("Cache-Control", "no-store")
	if unsafeMethod(r.Method) {
		if err := s.checkCSRF(r, p); err != nil {
			refused(w, "csrf")
			s.pageFail(w, r, err)
			return
		}
	}
	if rt.Perm != mamori.Public {
		if p == nil {
			refused(w, "unauthenticated")
			s.redirectToSignIn(w, r)
			return
		}
		if p.Restriction != "" && !unrestricted(rt) {
			target := "/account/security"
			if p.Restriction == "password_change" {
				target = "/account/password"
			}
			refused(w, "restricted")
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		if !p.Actor.Can(rt.Perm) && !(p.Restriction != "" && rt.Perm == mamori.Authenticated) {
			refused(w, "permission")
			s.denied(r, p.Actor)
			s.pageFail(w, r, mamori.Errorf(mamori.EFORBIDDEN, "You do not have permission to do this."))
			return
		}
		if rt.StepUp && s.now().Sub(p.Session.AuthTime) > s.svc.Auth.StepUpWindow() {
			refused(w, "step-up")
			s.redirectToStepUp(w, r)
			return
		}
	}
	rt.Handler(w, r)
}

// RefusalHeader says why the middleware refused a request (unauthenticated,
// permission, csrf, restricted, step-up). Handlers never set it, so clients,
// monitoring and the authorization tests can tell a refusal from an answer.
const RefusalHeader = "Mamori-Refusal"

func refused(w http.ResponseWriter, why string) { w.Header().Set(RefusalHeader, why) }

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

var errCSRF = mamori.Errorf(mamori.EFORBIDDEN, "The form has expired or came from another site. Reload the page and try again.")

// checkCSRF protects every state-changing page request twice: the browser's
// fetch metadata must say same-origin (net/http's CrossOriginProtection),
// and the form (or X-CSRF-Token header) must carry the session's token, or,
// before sign-in, the token of the anonymous CSRF cookie.
func (s *Server) checkCSRF(r *http.Request, p *auth.Principal) error {
	if err := csrfOrigin.Check(r); err != nil {
		return errCSRF
	}
	tok := r.Header.Get("X-CSRF-Token")
	if tok == "" {
		tok = formValue(r, "csrf")
	}
	if p != nil {
		if !p.CheckCSRF(tok) {
			return errCSRF
		}
		return nil
	}
	anon := s.cookie(r, "csrf")
	if anon == "" || !constantTimeEqual(tok, anon) {
		return errCSRF
	}
	return nil
}

var csrfOrigin = http.NewCrossOriginProtection()

// formValue reads a field from a urlencoded or multipart form without
// letting a query parameter stand in for it.
func formValue(r *http.Request, name string) string {
	ct := r.Header.Get("Content-Type")
	if strings.HasPrefix(ct, "multipart/form-data") {
		if r.MultipartForm == nil {
			if err := r.ParseMultipartForm(8 << 20); err != nil {
				return ""
			}
		}
		if v := r.MultipartForm.Value[name]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if err := r.ParseForm(); err != nil {
		return ""
	}
	return r.PostForm.Get(name)
}

func (s *Server) redirectToSignIn(w http.ResponseWriter, r *http.Request) {
	next := ""
	if r.Method == http.MethodGet && r.URL.Path != "/" {
		next = "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	http.Redirect(w, r, "/sign-in"+next, http.StatusSeeOther)
}

func (s *Server) redirectToStepUp(w http.ResponseWriter, r *http.Request) {
	next := r.URL.RequestURI()
	if r.Method != http.MethodGet {
		next = r.Header.Get("Referer")
		if u, err := url.Parse(next); err != nil || u.Host != "" && u.Host != r.Host {
			next = "/account"
		} else if u != nil {
			next = u.RequestURI()
		}
	}
	http.Redirect(w, r, "/account/reauth?next="+url.QueryEscape(safeNext(next)), http.StatusSeeOther)
}

// safeNext keeps redirects on this site: only a local absolute path.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func atoiDefault(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}

// isStepUp reports whether err asks for re-authentication.
func isStepUp(err error) bool { return errors.Is(err, auth.ErrStepUpRequired) }
