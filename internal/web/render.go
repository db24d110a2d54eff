package web

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/auth"
	"github.com/mamori-dev/mamori/internal/control"
	"github.com/mamori-dev/mamori/internal/i18n"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// templates holds every page parsed for every language: the translation
// function is bound at parse time, so templates just say {{t "Text"}}.
type templates struct {
	pages map[i18n.Lang]map[string]*template.Template
}

// assetVersion is a content hash per static file, for cache-busting URLs.
var assetVersion = func() map[string]string {
	m := map[string]string{}
	_ = fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		m[strings.TrimPrefix(p, "static/")] = hex.EncodeToString(sum[:6])
		return nil
	})
	return m
}()

// Tokyo is the time zone dates are shown in.
var tokyo = func() *time.Location {
	l, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		return time.FixedZone("JST", 9*3600)
	}
	return l
}()

func funcs(lang i18n.Lang) template.FuncMap {
	return template.FuncMap{
		"t": func(key string, args ...any) string { return i18n.T(lang, key, args...) },
		"asset": func(name string) (string, error) {
			v, ok := assetVersion[name]
			if !ok {
				return "", fmt.Errorf("unknown asset %q", name)
			}
			return "/static/" + name + "?v=" + v, nil
		},
		"date": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.In(tokyo).Format("2006-01-02")
		},
		"datetime": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.In(tokyo).Format("2006-01-02 15:04")
		},
		"iso": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format(time.RFC3339)
		},
		"dateInput": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(tokyo).Format("2006-01-02")
		},
		"roleName": func(id string) string {
			r, ok := auth.RoleByID(id)
			if !ok {
				return id
			}
			if lang == i18n.English {
				return r.NameEN
			}
			return r.NameJA
		},
		"roles": auth.Roles,
		"join":  strings.Join,
		"has": func(list []string, v string) bool {
			for _, x := range list {
				if x == v {
					return true
				}
			}
			return false
		},
		"add":  func(a, b int) int { return a + b },
		"sub":  func(a, b int) int { return a - b },
		"b64":  func(b []byte) string { return base64.StdEncoding.EncodeToString(b) },
		"hexs": func(b []byte) string { return hex.EncodeToString(b) },
		"bytes": func(n int64) string {
			switch {
			case n >= 1<<30:
				return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
			case n >= 1<<20:
				return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
			case n >= 1<<10:
				return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
			}
			return fmt.Sprintf("%d B", n)
		},
		"seconds": func(ms int64) string { return fmt.Sprintf("%.1f s", float64(ms)/1000) },
		"list":    func(s ...string) []string { return s },
		"dict": func(kv ...any) (map[string]any, error) {
			if len(kv)%2 != 0 {
				return nil, fmt.Errorf("dict needs key-value pairs")
			}
			m := make(map[string]any, len(kv)/2)
			for i := 0; i < len(kv); i += 2 {
				k, ok := kv[i].(string)
				if !ok {
					return nil, fmt.Errorf("dict key %v is not a string", kv[i])
				}
				m[k] = kv[i+1]
			}
			return m, nil
		},
		"langs": func() []i18n.Lang { return i18n.Langs },
		// Catalog and assessment texts: a catalog text in the page's
		// language, and the labels of statuses, tiers, profiles, states.
		"tx":   func(t control.Text) string { return t.Get(string(lang)) },
		"txIn": func(l string, t control.Text) string { return t.Get(l) },
		// Labels take any string-like value: templates pass typed fields and literals.
		"status":        func(v any) string { return control.StatusLabels[control.ItemStatus(fmt.Sprint(v))].Get(string(lang)) },
		"tier":          func(v any) string { return control.TierLabels[control.Tier(fmt.Sprint(v))].Get(string(lang)) },
		"profile":       func(v any) string { return control.ProfileLabels[control.Profile(fmt.Sprint(v))].Get(string(lang)) },
		"state":         func(v any) string { return control.StateLabels[control.State(fmt.Sprint(v))].Get(string(lang)) },
		"out":           func(v any) string { return control.OutLabels[fmt.Sprint(v)].Get(string(lang)) },
		"freq":          func(f *control.Frequency) string { return f.Describe(string(lang)) },
		"byTier":        func(m map[control.Tier]int, t string) int { return m[control.Tier(t)] },
		"recordLink":    recordLink,
		"tt":            func(v any) string { return i18n.T(lang, fmt.Sprint(v)) },
		"pct":           func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) + "%" },
		"day":           control.FormatDate,
		"scope":         control.FormatScope,
		"statusOptions": statusOptions,
		"lang":          func() string { return string(lang) },
	}
}

// parseTemplates parses layout + partials + each page, per language. A page
// that does not parse stops start-up.
func parseTemplates() (*templates, error) {
	entries, err := fs.ReadDir(templateFS, "templates")
	if err != nil {
		return nil, err
	}
	var shared, pages []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "_") {
			shared = append(shared, "templates/"+name)
		} else {
			pages = append(pages, "templates/"+name)
		}
	}
	t := &templates{pages: map[i18n.Lang]map[string]*template.Template{}}
	for _, lang := range i18n.Langs {
		base, err := template.New("base").Funcs(funcs(lang)).ParseFS(templateFS, shared...)
		if err != nil {
			return nil, fmt.Errorf("parse layout: %w", err)
		}
		t.pages[lang] = map[string]*template.Template{}
		for _, p := range pages {
			c, err := base.Clone()
			if err != nil {
				return nil, err
			}
			if _, err := c.ParseFS(templateFS, p); err != nil {
				return nil, fmt.Errorf("parse %s: %w", p, err)
			}
			t.pages[lang][strings.TrimSuffix(path.Base(p), ".html")] = c
		}
	}
	return t, nil
}

// PageNames lists the page templates (for tests).
func (t *templates) names() []string {
	var out []string
	for n := range t.pages[i18n.Default] {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// view is what every page template gets.
type view struct {
	Lang      i18n.Lang
	Title     string
	Path      string
	CSRF      string
	User      *auth.User
	Actor     *mamori.Actor
	Restrict  string
	Flash     string
	FlashKind string
	Version   string
	Nav       []navItem
	Page      any
	Form      map[string]string // values to refill after an error
	Errors    map[string]string // field → reason, translated
	Message   string            // error summary, translated
}

// Can reports whether the signed-in user holds a permission.
func (v *view) Can(p string) bool { return v.Actor != nil && v.Actor.Can(mamori.Permission(p)) }

// Val returns a refill value.
func (v *view) Val(k string) string { return v.Form[k] }

// Pick returns the refill value of k after a refused form that had the
// field, else def (another form's value on the same page).
func (v *view) Pick(k, def string) string {
	if s, ok := v.Form[k]; ok {
		return s
	}
	return def
}

// Err returns the reason a field was refused.
func (v *view) Err(k string) string { return v.Errors[k] }

type navItem struct {
	Href, Label string
	Perm        mamori.Permission
	Active      bool
}

// navigation is the product's top navigation; items the user cannot open
// are not shown.
var navigation = []navItem{
	{"/", "Dashboard", mamori.PermDashboardRead, false},
	{"/assessments", "Assessments", mamori.PermAssessmentRead, false},
	{"/assets", "Assets", mamori.PermAssetRead, false},
	{"/vulnerabilities", "Vulnerabilities", mamori.PermVulnRead, false},
	{"/detection", "Detection", mamori.PermDetectRead, false},
	{"/incidents", "Incidents", mamori.PermIncidentRead, false},
	{"/third-parties", "Third parties", mamori.PermThirdPartyRead, false},
	{"/reports", "Reports", mamori.PermReportRead, false},
	{"/admin", "Administration", mamori.PermUserManage, false},
}

func (s *Server) newView(w http.ResponseWriter, r *http.Request, title string, page any) *view {
	v := &view{Lang: langOf(r), Title: title, Path: r.URL.Path, Version: s.version, Page: page}
	if p := principal(r); p != nil {
		v.User, v.Actor, v.CSRF, v.Restrict = p.User, p.Actor, p.Session.CSRFToken, p.Restriction
		if p.Restriction == "" {
			for _, n := range navigation {
				if p.Actor.Can(n.Perm) || (n.Href == "/admin" && (p.Actor.Can(mamori.PermAuditRead) || p.Actor.Can(mamori.PermSignInRead))) {
					n.Active = n.Href == r.URL.Path || (n.Href != "/" && strings.HasPrefix(r.URL.Path, n.Href))
					v.Nav = append(v.Nav, n)
				}
			}
		}
	} else {
		v.CSRF = s.anonCSRF(w, r)
	}
	if f := s.cookie(r, "flash"); f != "" {
		kind, msg, _ := strings.Cut(f, ":")
		v.Flash, v.FlashKind = i18n.T(v.Lang, flashMessages[msg]), kind
		s.setCookie(w, "flash", "", -1)
	}
	return v
}

// anonCSRF returns the anonymous CSRF token, setting its cookie if needed.
func (s *Server) anonCSRF(w http.ResponseWriter, r *http.Request) string {
	if v, ok := r.Context().Value(keyAnonCSRF).(string); ok {
		return v
	}
	tok := s.cookie(r, "csrf")
	if len(tok) < 32 {
		tok = newRequestID() + newRequestID()
		s.setCookie(w, "csrf", tok, 0)
	}
	return tok
}

// flashMessages are the short messages shown once after a redirect; the
// cookie carries only the key.
var flashMessages = map[string]string{
	"saved":              "Saved.",
	"signed_out":         "You have signed out.",
	"reset_sent":         "If the address belongs to an account, we have sent a link to set a new password. It is valid for 30 minutes.",
	"password_set":       "Your password has been set. Please sign in.",
	"password_changed":   "Your password has been changed. Your other sessions have ended.",
	"invited":            "The invitation has been sent.",
	"session_revoked":    "The session has ended.",
	"token_revoked":      "The token has been revoked.",
	"passkey_added":      "The passkey has been registered.",
	"passkey_removed":    "The passkey has been removed.",
	"totp_removed":       "The authenticator app has been removed.",
	"unlocked":           "The lock has been lifted.",
	"review_recorded":    "The access review has been recorded.",
	"decided":            "The decision has been recorded.",
	"mfa_reset":          "The user's multi-factor authentication has been reset.",
	"reset_forced":       "The password has been invalidated and a reset link sent to the user.",
	"sessions_revoked":   "All sessions of the user have ended.",
	"stepped_up":         "Thank you. You can continue.",
	"catalog_imported":   "The catalog has been imported.",
	"catalog_deleted":    "The catalog has been deleted.",
	"assessment_created": "The assessment has been created.",
	"submitted":          "The assessment has been submitted for review.",
	"returned":           "The assessment has been returned to the first line.",
	"signed_off":         "The assessment has been signed off.",
	"reopened":           "The assessment has been reopened.",
	"approval_requested": "The approval has been requested. Someone else with the right to approve will decide.",
	"reviewed":           "The review has been recorded.",
	"evidence_added":     "The evidence has been attached.",
	"evidence_removed":   "The evidence has been removed.",
	"checkpoint_signed":  "A checkpoint of the audit trail has been signed and published.",
	"backup_started":     "The backup has started. Its result appears in the list when it is done.",
}

func (s *Server) flash(w http.ResponseWriter, kind, key string) {
	s.setCookie(w, "flash", kind+":"+key, 60)
}

// render executes a page into a buffer first, so a template error never
// sends half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var v *view
	switch d := data.(type) {
	case *view:
		v = d
	default:
		v = s.newView(w, r, "", d)
	}
	t, ok := s.tmpl.pages[v.Lang][name]
	if !ok {
		s.log.ErrorContext(r.Context(), "unknown template", "template", name)
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		s.log.ErrorContext(r.Context(), "render", "template", name, "request_id", requestID(r), "error", err)
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// page renders name with title and page data.
func (s *Server) page(w http.ResponseWriter, r *http.Request, name, title string, page any) {
	s.render(w, r, http.StatusOK, name, s.newView(w, r, title, page))
}

// formError re-renders a form with the error's message and field reasons.
func (s *Server) formError(w http.ResponseWriter, r *http.Request, name, title string, page any, err error) {
	if isStepUp(err) {
		s.redirectToStepUp(w, r)
		return
	}
	code := mamori.ErrorCode(err)
	if code == mamori.EINTERNAL || code == mamori.EUNAVAILABLE {
		s.pageFail(w, r, err)
		return
	}
	v := s.newView(w, r, title, page)
	v.Message = localize(v.Lang, err)
	v.Errors = map[string]string{}
	for k, reason := range mamori.ErrorFields(err) {
		v.Errors[k] = i18n.T(v.Lang, reason)
	}
	v.Form = map[string]string{}
	if r.PostForm != nil {
		for k, vals := range r.PostForm {
			if len(vals) > 0 && !sensitiveField(k) {
				v.Form[k] = vals[0]
			}
		}
	}
	s.render(w, r, httpStatus(err), name, v)
}

// sensitiveField names form fields never echoed back into a page.
func sensitiveField(k string) bool {
	return k == "csrf" || strings.Contains(k, "password") || k == "code" || k == "token"
}

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// static serves embedded files; versioned URLs are cached for a year.
func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("path")
	b, err := staticFS.ReadFile("static/" + name)
	if err != nil || strings.Contains(name, "..") {
		http.NotFound(w, r)
		return
	}
	if v := r.URL.Query().Get("v"); v != "" && v == assetVersion[name] {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	switch path.Ext(name) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case ".svg":
		w.Header().Set("Content-Type", "image/svg+xml")
	case ".png":
		w.Header().Set("Content-Type", "image/png")
	case ".json":
		w.Header().Set("Content-Type", "application/json")
	}
	_, _ = w.Write(b)
}
