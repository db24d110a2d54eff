// Package web is the only package that speaks HTTP: the route table, the
// middleware, thin handlers for the server-rendered UI and the REST API,
// embedded templates and static files, and the OpenAPI document.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/auth"
	"github.com/mamori-dev/mamori/internal/backup"
	"github.com/mamori-dev/mamori/internal/config"
	"github.com/mamori-dev/mamori/internal/control"
)

// Pinger reports whether the store answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Services are the domain services the handlers call.
type Services struct {
	Auth    *auth.Service
	Control *control.Service
	Audit   *audit.Service
	Backup  *backup.Service
}

// Options configure a Server.
type Options struct {
	Config   *config.Config
	Logger   *slog.Logger
	Version  string
	Store    Pinger
	Services Services
	Clock    mamori.Clock
}

// Server serves the UI, the REST API, health and metrics.
type Server struct {
	cfg      *config.Config
	log      *slog.Logger
	version  string
	store    Pinger
	svc      Services
	now      mamori.Clock
	handler  http.Handler
	routes   []Route
	tmpl     *templates
	metrics  *metrics
	proxies  []netip.Prefix
	secure   bool // cookies get Secure and the __Host- prefix; HSTS is sent
	openapi  []byte
	draining chan struct{}
}

// New builds a server and checks its route table: a route without a
// permission, a duplicate, or a template that does not parse stops start-up.
func New(o Options) (*Server, error) {
	s := &Server{
		cfg:      o.Config,
		log:      o.Logger,
		version:  o.Version,
		store:    o.Store,
		svc:      o.Services,
		now:      o.Clock,
		draining: make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = mamori.SystemClock
	}
	for _, p := range s.cfg.TrustedProxies {
		if pfx, err := netip.ParsePrefix(p); err == nil {
			s.proxies = append(s.proxies, pfx)
		}
	}
	s.secure = s.cfg.TLS() || strings.HasPrefix(s.cfg.BaseURL, "https://")
	var err error
	if s.tmpl, err = parseTemplates(); err != nil {
		return nil, err
	}
	s.metrics = newMetrics(prometheus.NewRegistry())
	s.routes = s.routeTable()
	mux, err := s.register(s.routes)
	if err != nil {
		return nil, err
	}
	if s.openapi, err = s.openAPIDocument(); err != nil {
		return nil, err
	}
	s.handler = s.base(mux)
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Routes returns the route table (for tests and documentation).
func (s *Server) Routes() []Route { return s.routes }

// MetricsHandler serves /metrics without authentication, for a separate
// listen address that only the monitoring network reaches.
func (s *Server) MetricsHandler() http.Handler { return s.metrics.handler() }

// Drain makes /readyz fail so that load balancers stop sending requests
// before shutdown.
func (s *Server) Drain() {
	select {
	case <-s.draining:
	default:
		close(s.draining)
	}
}

// HTTPServer returns an http.Server for addr with sensible timeouts.
func (s *Server) HTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}
