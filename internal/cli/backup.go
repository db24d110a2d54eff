package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/backup"
	"github.com/mamori-dev/mamori/internal/config"
	"github.com/mamori-dev/mamori/internal/envelope"
	"github.com/mamori-dev/mamori/internal/files"
	"github.com/mamori-dev/mamori/internal/store"
)

func runBackup(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("usage: mamori backup create --out FILE | verify FILE | restore FILE --data-dir DIR [--database-url URL]")
	}
	switch args[0] {
	case "create":
		return backupCreate(ctx, e, args[1:])
	case "verify":
		return backupVerify(ctx, e, args[1:])
	case "restore":
		return backupRestore(ctx, e, args[1:])
	}
	return usagef("unknown backup command %q: use create, verify or restore", args[0])
}

// createOptions are the keys and places a backup of cfg's store needs.
func createOptions(cfg *config.Config, sealer *envelope.Sealer, signer *audit.Signer) backup.CreateOptions {
	return backup.CreateOptions{Sealer: sealer, Signer: signer, FilesRoot: filepath.Join(cfg.DataDir, files.Dir),
		KeysDir: keysDir(cfg), Version: Version}
}

func backupCreate(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "backup create", "--out FILE [--data-dir DIR | --database-url URL]")
	var sf storeFlags
	sf.register(fs)
	out := fs.String("out", "", "the backup file to write")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("--out is required")
	}
	cfg, err := sf.load(e, nil)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, cfg, false, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	sealer, err := envelope.LoadLocal(cfg.KeysetFile)
	if err != nil {
		return err
	}
	signer, err := audit.LoadOrCreateSigner(keysDir(cfg), audit.OriginFor(cfg.BaseURL))
	if err != nil {
		return err
	}
	sys := mamori.WithActor(ctx, mamori.SystemActor())
	res, err := backup.CreateFile(ctx, db, *out, createOptions(cfg, sealer, signer))
	if err != nil {
		_ = db.AppendAudit(context.WithoutCancel(sys), audit.New(sys, audit.BackupFailed, "backup", "").WithOutcome(audit.Failure))
		return err
	}
	m := res.Manifest
	if err := db.AppendAudit(sys, audit.New(sys, audit.BackupCreated, "backup", m.ID).With("size", res.Size).
		With("sha256", res.SHA256).With("audit_events", m.Audit.Events)); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Backup %s written to %s: %s, %d tables, %d rows, %d files, audit trail of %d events; SHA-256 %s (%s)\n",
		m.ID, *out, humanBytes(res.Size), len(m.Tables), m.Rows(), len(m.Files), m.Audit.Events, res.SHA256, res.Duration.Round(time.Millisecond))
	return nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

func backupVerify(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "backup verify", "FILE [--data-dir DIR] [--keyset FILE] [--key VERIFIER-KEY]...")
	var sf storeFlags
	sf.register(fs)
	keyset := fs.String("keyset", "", "the key-encryption keyset the backup was made with (default: the data directory's)")
	var keys listFlag
	fs.Var(&keys, "key", "a trusted verifier key name+hash+key (repeatable); default: the keys folder's signing.pub")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: mamori backup verify FILE")
	}
	cfg, err := sf.load(e, map[string]string{"keys.keyset_file": *keyset})
	if err != nil {
		return err
	}
	trusted, err := backupTrust(cfg, *keyset, keys)
	if err != nil {
		return err
	}
	opts := backup.VerifyOptions{Trusted: trusted}
	if s, err := envelope.LoadLocal(cfg.KeysetFile); err == nil {
		opts.Sealer = s
	} else {
		fmt.Fprintf(e.stderr, "mamori backup: no key-encryption keyset at %s: checking the signature and integrity only, not the content\n", cfg.KeysetFile)
	}
	rep, err := backup.Verify(ctx, pos[0], opts)
	if err != nil {
		return err
	}
	return printBackupReport(e, "verified", rep)
}

// backupTrust is the keys trusted to sign a backup: those given, else the
// signing.pub beside the keyset and in the keys folder.
func backupTrust(cfg *config.Config, keyset string, keys []string) (*audit.Verifiers, error) {
	if len(keys) > 0 {
		return audit.NewVerifiers(keys...)
	}
	v, _ := audit.NewVerifiers()
	dirs := []string{keysDir(cfg)}
	if keyset != "" {
		dirs = append(dirs, filepath.Dir(keyset))
	}
	for _, d := range dirs {
		w, err := audit.LoadVerifiers(d)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := v.Add(w.Keys()...); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func printBackupReport(e *env, what string, rep *backup.Report) error {
	if !rep.OK() {
		fmt.Fprintf(e.stderr, "mamori backup: %s is NOT %s:\n", rep.File, what)
		for _, p := range rep.Problems {
			fmt.Fprintf(e.stderr, "  %s\n", p)
		}
		if rep.SHA256 != "" {
			fmt.Fprintf(e.stderr, "  file SHA-256 %s, %d bytes\n", rep.SHA256, rep.Size)
		}
		return &ExitError{Code: exitFail}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "backup %s %s: signed by %s", rep.File, what, rep.SignedBy)
	if rep.Header != nil {
		fmt.Fprintf(&b, ", made %s from %s", rep.Header.CreatedAt.Format(time.RFC3339), rep.Header.Dialect)
	}
	if rep.ContentChecked {
		fmt.Fprintf(&b, "; %d rows in %d tables, %d files checked", rep.Rows, len(rep.Manifest.Tables), rep.Files)
		if rep.Audit != nil {
			fmt.Fprintf(&b, "; %s", rep.Audit.Summary())
		}
	} else {
		b.WriteString("; content not checked (no key-encryption keyset)")
	}
	fmt.Fprintf(&b, " (%s)\n", rep.Duration.Round(time.Millisecond))
	fmt.Fprint(e.stdout, b.String())
	return nil
}

// restoreCheck is what is checked in a restored store.
type restoreCheck struct {
	Audit        *audit.Report
	Sealed       int
	SealedFailed int
	Files        int
	FilesFailed  int
}

func (c *restoreCheck) ok() bool {
	return c.Audit != nil && c.Audit.OK() && c.SealedFailed == 0 && c.FilesFailed == 0
}

func (c *restoreCheck) String() string {
	return fmt.Sprintf("%s; %d encrypted values open (%d do not); %d files match their SHA-256 (%d do not)",
		c.Audit.Summary(), c.Sealed-c.SealedFailed, c.SealedFailed, c.Files-c.FilesFailed, c.FilesFailed)
}

// checkRestored verifies a restored store: its audit trail against its
// signed checkpoints, every encrypted value, every stored file.
func checkRestored(ctx context.Context, cfg *config.Config, db *store.DB, sealer *envelope.Sealer, keys []string) (*restoreCheck, error) {
	c := &restoreCheck{}
	var err error
	if c.Audit, err = verifyTrail(ctx, cfg, db, nil, keys, false); err != nil {
		return nil, err
	}
	if err := db.EachSealed(ctx, 1000, func(v store.SealedValue) error {
		c.Sealed++
		if _, err := sealer.Open(v.Value, v.Column.Table, v.Column.Column, v.Row); err != nil {
			c.SealedFailed++
		}
		return nil
	}); err != nil {
		return nil, err
	}
	fsvc := files.New(filepath.Join(cfg.DataDir, files.Dir), db, sealer, 0)
	sys := mamori.WithActor(ctx, mamori.SystemActor())
	if err := db.EachFile(ctx, func(sha string) error {
		c.Files++
		if err := fsvc.Verify(sys, sha); err != nil {
			c.FilesFailed++
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return c, nil
}

func backupRestore(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "backup restore", "FILE --data-dir DIR [--database-url URL] [--keyset FILE] [--key VERIFIER-KEY]...")
	var sf storeFlags
	sf.register(fs)
	keyset := fs.String("keyset", "", "the key-encryption keyset the backup was made with (default: the target data directory's)")
	var keys listFlag
	fs.Var(&keys, "key", "a trusted verifier key name+hash+key (repeatable); default: signing.pub beside the keyset")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: mamori backup restore FILE --data-dir DIR [--database-url URL]")
	}
	if sf.dataDir == "" {
		return usagef("--data-dir is required: the directory to restore into")
	}
	cfg, err := sf.load(e, nil)
	if err != nil {
		return err
	}
	kek := cfg.KeysetFile
	if *keyset != "" {
		kek = *keyset
	}
	sealer, err := envelope.LoadLocal(kek)
	if err != nil {
		return err
	}
	trusted, err := backupTrust(cfg, kek, keys)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, store.Options{DataDir: cfg.DataDir, DatabaseURL: cfg.DatabaseURL})
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := backup.Restore(ctx, pos[0], db, backup.RestoreOptions{Sealer: sealer, Trusted: trusted,
		FilesRoot: filepath.Join(cfg.DataDir, files.Dir), KeysDir: keysDir(cfg)})
	if err != nil {
		if rep != nil && !rep.OK() {
			_ = printBackupReport(e, "restored", rep)
		}
		return err
	}
	// The restored installation needs the keyset to read its sealed fields.
	if kek != cfg.KeysetFile {
		if err := copyKeyset(kek, cfg.KeysetFile); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "Restored backup %s (%s, made %s): %d rows in %d tables, %d files into %s (%s)\n",
		rep.Manifest.ID, rep.Header.Dialect, rep.Header.CreatedAt.Format(time.RFC3339), rep.Rows, len(rep.Manifest.Tables),
		rep.Files, restoredTo(cfg), rep.Duration.Round(time.Millisecond))
	chk, err := checkRestored(ctx, cfg, db, sealer, keys)
	if err != nil {
		return err
	}
	sys := mamori.WithActor(ctx, mamori.SystemActor())
	ev := audit.New(sys, audit.BackupRestored, "backup", rep.Manifest.ID).With("audit_verified", chk.Audit.OK())
	if !chk.ok() {
		ev = ev.WithOutcome(audit.Failure)
	}
	if chk.Audit.OK() {
		if err := db.AppendAudit(sys, ev); err != nil {
			return err
		}
	}
	if !chk.ok() {
		fmt.Fprintf(e.stderr, "mamori backup: the restored store does NOT verify: %s\n", chk)
		return &ExitError{Code: exitFail}
	}
	fmt.Fprintf(e.stdout, "%s\n", chk)
	return nil
}

func restoredTo(cfg *config.Config) string {
	if cfg.DatabaseURL != "" {
		return "PostgreSQL and " + cfg.DataDir
	}
	return cfg.DataDir
}

// copyKeyset copies the keyset into the restored data directory, unless
// one is there.
func copyKeyset(from, to string) error {
	if _, err := os.Stat(to); err == nil {
		return nil
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		return err
	}
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return closeSync(out)
}

func closeSync(f *os.File) error {
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// testRestorer restores a backup into a temporary SQLite data directory
// beside the live one (whatever the live engine: the format is portable),
// verifies the restored store, and removes it.
func testRestorer(cfg *config.Config, sealer *envelope.Sealer) backup.TestRestorer {
	return func(ctx context.Context, file string) (*backup.RestoreCheck, error) {
		dir, err := os.MkdirTemp(cfg.DataDir, ".restore-drill-*")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		tcfg := *cfg
		tcfg.DataDir, tcfg.DatabaseURL = dir, ""
		tcfg.KeysetFile = filepath.Join(dir, "keys", filepath.Base(cfg.KeysetFile))
		trusted, err := backupTrust(cfg, "", nil)
		if err != nil {
			return nil, err
		}
		db, err := store.Open(ctx, store.Options{DataDir: dir})
		if err != nil {
			return nil, err
		}
		defer db.Close()
		if _, err := backup.Restore(ctx, file, db, backup.RestoreOptions{Sealer: sealer, Trusted: trusted,
			FilesRoot: filepath.Join(dir, files.Dir), KeysDir: keysDir(&tcfg)}); err != nil {
			return nil, err
		}
		chk, err := checkRestored(ctx, &tcfg, db, sealer, nil)
		if err != nil {
			return nil, err
		}
		return &backup.RestoreCheck{AuditVerified: chk.Audit.OK(), OK: chk.ok(), Summary: chk.String()}, nil
	}
}
