package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/web"
)

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "serve", "[--addr HOST:PORT] [--data-dir DIR | --database-url URL] [--demo] [--dev]")
	var sf storeFlags
	sf.register(fs)
	addr := fs.String("addr", "", "HOST:PORT to listen on (env MAMORI_ADDR; default 127.0.0.1:8080)")
	demo := fs.Bool("demo", false, "on an empty database, create a first administrator and sample data, and print how to sign in")
	dev := fs.Bool("dev", false, "development mode: without SMTP, mail goes to the log")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	extra := map[string]string{"addr": *addr}
	if *dev || *demo {
		extra["dev_mode"] = "true"
	}
	cfg, err := sf.load(e, extra)
	if err != nil {
		return err
	}
	log := newLogger(cfg, e.stderr)
	db, err := openStore(ctx, cfg, true, log)
	if err != nil {
		return err
	}
	defer db.Close()
	svc, err := newServices(ctx, cfg, db, log)
	if err != nil {
		return err
	}
	if *demo {
		if err := seedDemo(ctx, e, svc); err != nil {
			return err
		}
	} else if n, err := svc.auth.CountUsers(ctx); err == nil && n == 0 {
		fmt.Fprintf(e.stderr, "No account exists yet. Create the first administrator with:\n  mamori admin create --email you@example.jp\n(or start with --demo for a ready-made administrator and sample data)\n")
	}
	srv, err := web.New(web.Options{Config: cfg, Logger: log, Version: Version, Store: db,
		Services: web.Services{Auth: svc.auth, Control: svc.control, Audit: svc.audit, Backup: svc.backup}})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return mamori.Wrap(mamori.EINVALID, err, fmt.Sprintf("addr: cannot listen on %s", cfg.Addr))
	}
	scheme := "http"
	if cfg.TLS() {
		scheme = "https"
	}
	_ = db.AppendAudit(ctx, audit.New(mamori.WithActor(ctx, mamori.SystemActor()), audit.ServerStarted, "", "").With("version", Version))
	log.Info("mamori listening", "addr", ln.Addr().String(), "url", cfg.BaseURL, "dialect", string(db.Dialect()))
	fmt.Fprintf(e.stderr, "mamori is running at %s://%s (open %s)\n", scheme, ln.Addr(), cfg.BaseURL)

	g, gctx := errgroup.WithContext(ctx)
	main := srv.HTTPServer(cfg.Addr, srv)
	g.Go(func() error {
		var err error
		if cfg.TLS() {
			err = main.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
		} else {
			err = main.Serve(ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	})
	var metricsSrv *http.Server
	if cfg.MetricsAddr != "" {
		metricsSrv = srv.HTTPServer(cfg.MetricsAddr, srv.MetricsHandler())
		g.Go(func() error {
			err := metricsSrv.ListenAndServe()
			if errors.Is(err, http.ErrServerClosed) {
				return nil
			}
			return err
		})
	}
	g.Go(func() error { runJobs(gctx, svc, log); return nil })
	g.Go(func() error { runCheckpoints(gctx, svc, cfg.CheckpointInterval, log); return nil })
	if svc.drills != nil {
		g.Go(func() error { svc.drills.Run(gctx); return nil })
	}
	g.Go(func() error {
		<-gctx.Done()
		// Graceful shutdown: fail readiness first, then let requests finish.
		srv.Drain()
		log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(gctx), 20*time.Second)
		defer cancel()
		err := main.Shutdown(sctx)
		if metricsSrv != nil {
			err = errors.Join(err, metricsSrv.Shutdown(sctx))
		}
		return err
	})
	if err := g.Wait(); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// runJobs runs the periodic work until ctx ends: account lifecycle
// (inactive and expired accounts), approval expiry (and reopening what
// expired approvals covered), and deadline reminders.
func runJobs(ctx context.Context, svc *services, log *slog.Logger) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		if n, err := svc.auth.RunLifecycle(ctx); err != nil {
			log.Error("account lifecycle", "error", err)
		} else if n > 0 {
			log.Info("accounts disabled automatically", "count", n)
		}
		// Even after an error, the approvals that did expire reopen their
		// items; the control service also sweeps for any it missed.
		exp, err := svc.auth.ExpireApprovals(ctx)
		if err != nil {
			log.Error("approval expiry", "error", err)
		} else if len(exp) > 0 {
			log.Info("approvals expired", "count", len(exp))
		}
		if n, err := svc.control.ApprovalsExpired(ctx, exp); err != nil {
			log.Error("reopen items of expired approvals", "error", err)
		} else if n > 0 {
			log.Info("assessment items reopened after their approval expired", "count", n)
		}
		if n, err := svc.control.RunReminders(ctx); err != nil {
			log.Error("deadline reminders", "error", err)
		} else if n > 0 {
			log.Info("deadline reminders sent", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// runCheckpoints signs and publishes an audit checkpoint at start, every
// interval while the trail grows, and once more at shutdown, so that a
// change behind mamori's back is caught within one interval.
func runCheckpoints(ctx context.Context, svc *services, interval time.Duration, log *slog.Logger) {
	sys := mamori.WithActor(context.WithoutCancel(ctx), mamori.SystemActor())
	sign := func() {
		cp, created, err := svc.audit.Checkpoint(sys)
		if err != nil {
			log.Error("audit checkpoint", "error", err)
			return
		}
		if created {
			log.Info("audit checkpoint signed", "tree_size", cp.Size)
		}
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		sign()
		select {
		case <-ctx.Done():
			sign()
			return
		case <-tick.C:
		}
	}
}
