package cli

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/config"
	"github.com/mamori-dev/mamori/internal/store"
)

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func runAudit(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || (args[0] != "verify" && args[0] != "checkpoint") {
		return usagef("usage: mamori audit verify|checkpoint [--data-dir DIR | --database-url URL]")
	}
	if args[0] == "checkpoint" {
		return runAuditCheckpoint(ctx, e, args[1:])
	}
	fs := newFlagSet(e, "audit verify", "[--data-dir DIR | --database-url URL] [--checkpoint FILE]... [--key VERIFIER-KEY]...")
	var sf storeFlags
	sf.register(fs)
	var files, keys listFlag
	fs.Var(&files, "checkpoint", "a signed checkpoint file to check the trail against (repeatable), e.g. one an auditor kept")
	fs.Var(&keys, "key", "a trusted verifier key name+hash+key (repeatable); default: the keys folder's signing.pub")
	if _, err := parseFlags(fs, args[1:]); err != nil {
		return err
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
	rep, err := verifyTrail(ctx, cfg, db, files, keys, true)
	if err != nil {
		return err
	}
	return printReport(e, rep)
}

// verifyTrail checks the stored trail against the checkpoints in the
// database, the published ones (unless it is a restored copy, which may be
// older than them) and the given files.
func verifyTrail(ctx context.Context, cfg *config.Config, db *store.DB, files, keys []string, published bool) (*audit.Report, error) {
	trusted, err := trustedKeys(cfg, keys)
	if err != nil {
		return nil, err
	}
	var extra []audit.SourcedCheckpoint
	if published && cfg.CheckpointDir != "" {
		pub, err := audit.ReadPublished(cfg.CheckpointDir, 100)
		if err != nil {
			return nil, fmt.Errorf("read published checkpoints: %w", err)
		}
		extra = append(extra, pub...)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, mamori.Wrap(mamori.EINVALID, err, "--checkpoint: cannot read "+f)
		}
		extra = append(extra, audit.SourcedCheckpoint{Source: f, Note: b})
	}
	svc := audit.NewService(db, nil, nil, nil, nil)
	return svc.Verify(mamori.WithActor(ctx, mamori.SystemActor()), trusted, extra)
}

// trustedKeys are the verifier keys given, else those of the keys folder.
func trustedKeys(cfg *config.Config, keys []string) (*audit.Verifiers, error) {
	if len(keys) > 0 {
		return audit.NewVerifiers(keys...)
	}
	v, err := audit.LoadVerifiers(keysDir(cfg))
	if errors.Is(err, os.ErrNotExist) {
		return audit.NewVerifiers()
	}
	return v, err
}

func printReport(e *env, rep *audit.Report) error {
	if rep.OK() {
		fmt.Fprintf(e.stdout, "%s (%s)\n", rep.Summary(), rep.Duration.Round(time.Millisecond))
		return nil
	}
	fmt.Fprintf(e.stderr, "mamori audit: %s\n", rep.Summary())
	first := rep.First()
	if first.Seq >= 0 {
		fmt.Fprintf(e.stderr, "  first event concerned: seq %d", first.Seq)
		if first.ID != "" {
			fmt.Fprintf(e.stderr, ", id %s", first.ID)
		}
		fmt.Fprintln(e.stderr)
	}
	for i, p := range rep.Problems[1:] {
		if i == 9 {
			fmt.Fprintf(e.stderr, "  … and %d more\n", len(rep.Problems)-10)
			break
		}
		fmt.Fprintf(e.stderr, "  also: %s\n", p.Message)
	}
	fmt.Fprintf(e.stderr, "  %d events read; recomputed root %s\n", rep.Events, hex.EncodeToString(rep.Root))
	return &ExitError{Code: exitFail}
}

func runAuditCheckpoint(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "audit checkpoint", "[--data-dir DIR | --database-url URL]")
	var sf storeFlags
	sf.register(fs)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := sf.load(e, nil)
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
	cp, created, err := svc.audit.Checkpoint(mamori.WithActor(ctx, mamori.SystemActor()))
	if err != nil {
		return err
	}
	if !created {
		fmt.Fprintf(e.stderr, "The latest checkpoint already covers the whole trail.\n")
	}
	fmt.Fprint(e.stdout, cp.Note)
	return nil
}
