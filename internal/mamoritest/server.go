package mamoritest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/auth"
	"github.com/mamori-dev/mamori/internal/backup"
	"github.com/mamori-dev/mamori/internal/config"
	"github.com/mamori-dev/mamori/internal/control"
	"github.com/mamori-dev/mamori/internal/envelope"
	"github.com/mamori-dev/mamori/internal/files"
	"github.com/mamori-dev/mamori/internal/store"
	"github.com/mamori-dev/mamori/internal/web"
)

// Clock is a settable clock for tests.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t.UTC()} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Add moves the clock forward.
func (c *Clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// Mailbox records mail instead of sending it.
type Mailbox struct {
	mu   sync.Mutex
	Sent []Mail
}

// Mail is one recorded message.
type Mail struct {
	To            []string
	Subject, Body string
}

// Send records a message.
func (m *Mailbox) Send(_ context.Context, to []string, subject, body string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.Sent = append(m.Sent, Mail{To: to, Subject: subject, Body: body})
	return nil
}

// Last returns the last message to addr.
func (m *Mailbox) Last(addr string) (Mail, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.Sent) - 1; i >= 0; i-- {
		for _, t := range m.Sent[i].To {
			if t == addr {
				return m.Sent[i], true
			}
		}
	}
	return Mail{}, false
}

// Count returns how many messages went to addr.
func (m *Mailbox) Count(addr string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, s := range m.Sent {
		for _, t := range s.To {
			if t == addr {
				n++
			}
		}
	}
	return n
}

// Env is a complete mamori for a test: store, services and a running HTTP
// server on a random port.
type Env struct {
	T  testing.TB
	DB *store.DB
	// Store says where the database is (for the command line and raw SQL).
	Store  store.Options
	Auth   *auth.Service
	Audit  *audit.Service
	Backup *backup.Service
	Sealer *envelope.Sealer
	Server *web.Server
	HTTP   *httptest.Server
	Clock  *Clock
	Mail   *Mailbox
	Config *config.Config
	URL    string
	// Control is the catalogs and assessments service; Files is the
	// encrypted evidence file store it uses.
	Control *control.Service
	Files   *files.Service
}

// Argon2 for tests: the real algorithm with small costs, so suites stay fast.
var testArgon2 = auth.Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// NewEnv starts mamori on the given dialect.
func NewEnv(t testing.TB, d store.Dialect) *Env {
	t.Helper()
	clock := NewClock(time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC))
	o := Options(t, d)
	o.Clock = clock.Now
	db := OpenWith(t, o)
	e := &Env{T: t, DB: db, Store: o, Clock: clock, Mail: &Mailbox{}}
	dir := t.TempDir()
	var err error
	if e.Sealer, err = envelope.OpenLocal(filepath.Join(dir, "keys", "kek.json")); err != nil {
		t.Fatal(err)
	}
	e.HTTP = httptest.NewUnstartedServer(nil)
	// "localhost", not the IP: WebAuthn needs a domain name.
	base := "http://localhost:" + strconv.Itoa(e.HTTP.Listener.Addr().(*net.TCPAddr).Port)
	e.Config, err = config.Load(config.Source{Environ: []string{"MAMORI_DATA_DIR=" + dir, "MAMORI_BASE_URL=" + base}})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	e.Auth, err = auth.NewService(db, auth.Config{BaseURL: base, IdleTimeout: e.Config.SessionIdle,
		AbsoluteTimeout: e.Config.SessionAbsolute, StepUpWindow: e.Config.StepUpWindow, InactiveDays: e.Config.InactiveDisableDays,
		Argon2: testArgon2}, e.Sealer, e.Mail, clock.Now, log)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := audit.LoadOrCreateSigner(filepath.Dir(e.Config.KeysetFile), audit.OriginFor(base))
	if err != nil {
		t.Fatal(err)
	}
	e.Audit = audit.NewService(db, signer, nil, clock.Now, log)
	e.Backup = backup.NewService(db, nil)
	// The real encrypted file store: evidence uploads in tests go through
	// the same code as in production.
	e.Files = files.New(filepath.Join(dir, files.Dir), db, e.Sealer, e.Config.MaxUploadBytes)
	e.Control = control.NewService(db, e.Auth, control.FileStore(e.Files), clock.Now, log)
	e.Server, err = web.New(web.Options{Config: e.Config, Logger: log, Version: "test", Store: db,
		Services: web.Services{Auth: e.Auth, Control: e.Control, Audit: e.Audit, Backup: e.Backup}, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.HTTP.Config.Handler = e.Server
	e.HTTP.Start()
	t.Cleanup(e.HTTP.Close)
	e.URL = base
	return e
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// TOTPSecret is the authenticator secret every test user with MFA gets.
const TOTPSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

// Password is the password every test user gets.
const Password = "Corr3ct-Horse-Battery"

// User creates an active account with roles and the test password; with
// mfa it also enrols TOTPSecret.
func (e *Env) User(email string, mfa bool, roles ...string) *auth.User {
	e.T.Helper()
	ctx := mamori.WithActor(context.Background(), mamori.SystemActor())
	u, _, err := e.Auth.CreateWithPassword(ctx, auth.UserInput{Email: email, Roles: roles}, Password)
	if err != nil {
		e.T.Fatalf("create user %s: %v", email, err)
	}
	if mfa {
		sealed, err := e.Sealer.Seal([]byte(TOTPSecret), "totp_credentials", "secret", u.ID)
		if err != nil {
			e.T.Fatal(err)
		}
		if err := e.DB.SaveTOTP(ctx, &auth.TOTPCredential{UserID: u.ID, Secret: sealed, Confirmed: true, CreatedAt: e.Clock.Now()}); err != nil {
			e.T.Fatal(err)
		}
		u.HasTOTP = true
	}
	return u
}

// Code returns the current TOTP code for TOTPSecret at the env's clock.
func (e *Env) Code() string {
	c, err := totp.GenerateCodeCustom(TOTPSecret, e.Clock.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		e.T.Fatal(err)
	}
	return c
}

// Session creates a fresh, fully authenticated session for u directly in
// the store (as a completed sign-in with MFA would) and returns its cookie
// value and CSRF token.
func (e *Env) Session(u *auth.User) (token, csrf string) {
	e.T.Helper()
	now := e.Clock.Now()
	token = mamori.NewID() + mamori.NewID()
	sum := sha256.Sum256([]byte(token))
	csrf = mamori.NewID()
	s := &auth.Session{IDHash: hex.EncodeToString(sum[:]), UserID: u.ID, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(12 * time.Hour), AuthTime: now, MFAAt: now, Factors: "password,totp", CSRFToken: csrf}
	if err := e.DB.CreateSession(context.Background(), s, ""); err != nil {
		e.T.Fatal(err)
	}
	return token, csrf
}

// Token creates an API token for u directly in the store.
func (e *Env) Token(u *auth.User, scope string) string {
	e.T.Helper()
	secret := auth.TokenPrefix + strings.ReplaceAll(mamori.NewID()+mamori.NewID(), "-", "")
	sum := sha256.Sum256([]byte(secret))
	now := e.Clock.Now()
	if err := e.DB.CreateToken(context.Background(), &auth.Token{ID: mamori.NewID(), UserID: u.ID, Name: "test", Hash: hex.EncodeToString(sum[:]),
		Scope: scope, ExpiresAt: now.Add(30 * 24 * time.Hour), CreatedAt: now}); err != nil {
		e.T.Fatal(err)
	}
	return secret
}

// SessionCookieName is the cookie the server uses over plain HTTP.
const SessionCookieName = "mamori_session"

// Browser is an HTTP client with a cookie jar that follows mamori's forms
// like a browser: it reads CSRF tokens from pages and sends same-origin
// fetch metadata.
type Browser struct {
	e      *Env
	Client *http.Client
	CSRF   string
}

// NewBrowser returns a client that does not follow redirects (tests look at them).
func (e *Env) NewBrowser() *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{e: e, Client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// Get fetches a page and remembers its CSRF token.
func (b *Browser) Get(path string) (*http.Response, string) {
	b.e.T.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.e.URL+path, nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := b.Client.Do(req)
	if err != nil {
		b.e.T.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if m := csrfRE.FindSubmatch(body); m != nil {
		b.CSRF = string(m[1])
	}
	return res, string(body)
}

// Post submits a form with the remembered CSRF token.
func (b *Browser) Post(path string, form url.Values) (*http.Response, string) {
	b.e.T.Helper()
	if form == nil {
		form = url.Values{}
	}
	if form.Get("csrf") == "" {
		form.Set("csrf", b.CSRF)
	}
	req, _ := http.NewRequest(http.MethodPost, b.e.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", b.e.URL)
	res, err := b.Client.Do(req)
	if err != nil {
		b.e.T.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if m := csrfRE.FindSubmatch([]byte(body)); m != nil {
		b.CSRF = string(m[1])
	}
	return res, string(body)
}

// SignIn signs in through the real forms (password, then TOTP if needed).
func (b *Browser) SignIn(email, password string, withCode bool) *http.Response {
	b.e.T.Helper()
	b.Get("/sign-in")
	res, _ := b.Post("/sign-in", url.Values{"email": {email}, "password": {password}})
	if withCode && res.StatusCode == http.StatusSeeOther && strings.HasPrefix(res.Header.Get("Location"), "/sign-in/mfa") {
		b.Get("/sign-in/mfa")
		res, _ = b.Post("/sign-in/mfa", url.Values{"code": {b.e.Code()}})
	}
	return res
}
