package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/auth"
	"github.com/mamori-dev/mamori/internal/backup"
	"github.com/mamori-dev/mamori/internal/config"
	"github.com/mamori-dev/mamori/internal/control"
	"github.com/mamori-dev/mamori/internal/envelope"
	"github.com/mamori-dev/mamori/internal/files"
	"github.com/mamori-dev/mamori/internal/mail"
	"github.com/mamori-dev/mamori/internal/store"
	"github.com/mamori-dev/mamori/internal/webhook"
)

// storeFlags are the flags of every subcommand that touches the store.
type storeFlags struct {
	dataDir, databaseURL, config string
}

func (f *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.dataDir, "data-dir", "", "data directory (env MAMORI_DATA_DIR; default ./data)")
	fs.StringVar(&f.databaseURL, "database-url", "", "postgres:// URL; empty uses embedded SQLite (env MAMORI_DATABASE_URL)")
	fs.StringVar(&f.config, "config", "", "configuration file (YAML; env MAMORI_CONFIG)")
}

// load builds the configuration from the file, environment and flags.
func (f *storeFlags) load(e *env, extra map[string]string) (*config.Config, error) {
	flags := map[string]string{}
	if f.dataDir != "" {
		flags["data_dir"] = f.dataDir
	}
	if f.databaseURL != "" {
		flags["database_url"] = f.databaseURL
	}
	for k, v := range extra {
		if v != "" {
			flags[k] = v
		}
	}
	return config.Load(config.Source{File: f.config, Environ: e.environ(), Flags: flags})
}

func (e *env) environ() []string {
	if e.environFn != nil {
		return e.environFn()
	}
	return os.Environ()
}

// openStore opens the store of cfg; with migrate it applies pending
// migrations first.
func openStore(ctx context.Context, cfg *config.Config, migrate bool, log *slog.Logger) (*store.DB, error) {
	db, err := store.Open(ctx, store.Options{DataDir: cfg.DataDir, DatabaseURL: cfg.DatabaseURL})
	if err != nil {
		return nil, err
	}
	if migrate {
		n, err := db.Migrate(ctx)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("migrate: %w", err)
		}
		if n > 0 && log != nil {
			log.Info("database migrated", "applied", n, "dialect", string(db.Dialect()))
		}
	}
	return db, nil
}

// newLogger returns the JSON (or text) logger the configuration asks for.
func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// services are the wired domain services.
type services struct {
	control *control.Service
	db      *store.DB
	sealer  *envelope.Sealer
	auth    *auth.Service
	audit   *audit.Service
	files   *files.Service
	backup  *backup.Service
	// drills makes the scheduled backups (nil when backup.dirs is empty).
	drills *backup.Scheduler
}

// keysDir is the directory of the key-encryption keyset, which also holds
// the audit signing key.
func keysDir(cfg *config.Config) string { return filepath.Dir(cfg.KeysetFile) }

// checkpointPublishers are the places outside the database each signed
// checkpoint goes to.
func checkpointPublishers(cfg *config.Config) []audit.Publisher {
	var out []audit.Publisher
	if cfg.CheckpointDir != "" {
		out = append(out, audit.DirPublisher{Dir: cfg.CheckpointDir})
	}
	if cfg.CheckpointWebhook != "" {
		out = append(out, webhook.NewCheckpoints(cfg.CheckpointWebhook))
	}
	return out
}

func newServices(ctx context.Context, cfg *config.Config, db *store.DB, log *slog.Logger) (*services, error) {
	sealer, err := envelope.OpenLocal(cfg.KeysetFile)
	if err != nil {
		return nil, err
	}
	var mailer auth.Mailer
	switch {
	case cfg.SMTPHost != "":
		mailer = mail.NewSMTP(mail.Config{Host: cfg.SMTPHost, Port: cfg.SMTPPort, Username: cfg.SMTPUsername,
			Password: cfg.SMTPPassword, From: cfg.SMTPFrom, TLS: cfg.SMTPTLS})
	case cfg.DevMode:
		mailer = mail.Log{L: log}
	default:
		mailer = mail.Disabled{L: log}
	}
	a, err := auth.NewService(db, auth.Config{
		BaseURL: cfg.BaseURL, IdleTimeout: cfg.SessionIdle, AbsoluteTimeout: cfg.SessionAbsolute,
		StepUpWindow: cfg.StepUpWindow, MFAForAll: cfg.MFARequired == "all", InactiveDays: cfg.InactiveDisableDays,
	}, sealer, mailer, nil, log)
	if err != nil {
		return nil, err
	}
	signer, err := audit.LoadOrCreateSigner(keysDir(cfg), audit.OriginFor(cfg.BaseURL))
	if err != nil {
		return nil, fmt.Errorf("audit signing key: %w", err)
	}
	svc := &services{db: db, sealer: sealer, auth: a,
		audit: audit.NewService(db, signer, checkpointPublishers(cfg), nil, log),
		files: files.New(filepath.Join(cfg.DataDir, files.Dir), db, sealer, cfg.MaxUploadBytes)}
	if len(cfg.BackupDirs) > 0 {
		trusted, err := audit.LoadVerifiers(keysDir(cfg))
		if err != nil {
			return nil, err
		}
		svc.drills = &backup.Scheduler{Source: db, Store: db, Create: createOptions(cfg, sealer, signer),
			Verify: backup.VerifyOptions{Sealer: sealer, Trusted: trusted}, Dirs: cfg.BackupDirs, Retention: cfg.BackupRetention,
			Interval: cfg.BackupInterval, TestRestore: testRestorer(cfg, sealer), Log: log}
	}
	svc.backup = backup.NewService(db, svc.drills)
	svc.control = control.NewService(db, a, control.FileStore(svc.files), nil, log)
	return svc, nil
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
