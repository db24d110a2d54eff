package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/config"
	"github.com/mamori-dev/mamori/internal/envelope"
	"github.com/mamori-dev/mamori/internal/store"
)

// settle is how long after a rotation the re-wrap waits before its final
// count: a running server checks its keyset file once a second.
const settle = 1100 * time.Millisecond

func runKeys(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "rotate" && args[0] != "rewrap") {
		return usagef("usage: mamori keys list|rotate|rewrap [--data-dir DIR | --database-url URL]")
	}
	sub := args[0]
	fs := newFlagSet(e, "keys "+sub, "[--data-dir DIR | --database-url URL] [--batch N]")
	var sf storeFlags
	sf.register(fs)
	batch := fs.Int("batch", 500, "encrypted values re-wrapped per transaction")
	if _, err := parseFlags(fs, args[1:]); err != nil {
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
	switch sub {
	case "list":
		return keysList(ctx, e, cfg, db)
	case "rotate":
		return keysRotate(ctx, e, cfg, db, *batch)
	}
	sealer, err := envelope.OpenLocal(cfg.KeysetFile)
	if err != nil {
		return err
	}
	return rewrapAll(ctx, e, db, sealer, *batch)
}

func keysList(ctx context.Context, e *env, cfg *config.Config, db *store.DB) error {
	sealer, err := envelope.OpenLocal(cfg.KeysetFile)
	if err != nil {
		return err
	}
	keys, err := envelope.LocalKeys(cfg.KeysetFile)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Key-encryption keyset: %s (keep an offline copy: without it, encrypted fields, files and backups cannot be read)\n", cfg.KeysetFile)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  KEY ID\tPRIMARY\tSTATUS")
	for _, k := range keys {
		p := ""
		if k.Primary {
			p = "yes"
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\n", k.ID, p, k.Status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	counts := map[string][2]int{}
	err = db.EachSealed(ctx, 1000, func(v store.SealedValue) error {
		c := counts[v.Column.Name()]
		c[0]++
		if sealer.UnderPrimary(v.Value) {
			c[1]++
		}
		counts[v.Column.Name()] = c
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "\nEncrypted columns:")
	tw = tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  COLUMN\tVALUES\tUNDER PRIMARY KEY")
	for _, c := range store.EncryptedColumns() {
		n := counts[c.Name()]
		fmt.Fprintf(tw, "  %s\t%d\t%d\n", c.Name(), n[0], n[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if v, err := audit.LoadVerifiers(keysDir(cfg)); err == nil {
		fmt.Fprintf(e.stdout, "\nAudit and backup signing key: %s (private; never in backups)\n", filepath.Join(keysDir(cfg), audit.SigningKeyFile))
		for _, k := range v.Keys() {
			fmt.Fprintf(e.stdout, "  verifier key: %s\n", k)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func keysRotate(ctx context.Context, e *env, cfg *config.Config, db *store.DB, batch int) error {
	if _, err := envelope.OpenLocal(cfg.KeysetFile); err != nil {
		return err
	}
	id, err := envelope.RotateLocal(cfg.KeysetFile)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Added key %d to %s and made it primary; earlier keys stay for reading.\n", id, cfg.KeysetFile)
	sys := mamori.WithActor(ctx, mamori.SystemActor())
	if err := db.AppendAudit(sys, audit.New(sys, audit.KEKRotated, "keyset", fmt.Sprint(id))); err != nil {
		return err
	}
	sealer, err := envelope.OpenLocal(cfg.KeysetFile)
	if err != nil {
		return err
	}
	return rewrapAll(ctx, e, db, sealer, batch)
}

// rewrapAll re-wraps every encrypted value under the primary key. A
// running server reloads a rotated keyset within a second of its next
// seal; values it sealed under the earlier key in that moment are caught
// by another pass.
func rewrapAll(ctx context.Context, e *env, db *store.DB, sealer *envelope.Sealer, batch int) error {
	start := time.Now()
	total := map[string]*store.RewrapStats{}
	var order []string
	stale := 0
	for pass := 1; pass <= 3; pass++ {
		stats, err := db.Rewrap(ctx, sealer.Rewrap, batch, func(st store.RewrapStats) {
			fmt.Fprintf(e.stderr, "\rpass %d: %-28s %8d read %8d re-wrapped", pass, st.Column, st.Values, st.Rewrapped)
		})
		fmt.Fprintln(e.stderr)
		if err != nil {
			return err
		}
		for _, st := range stats {
			t, ok := total[st.Column]
			if !ok {
				t = &store.RewrapStats{Column: st.Column}
				total[st.Column] = t
				order = append(order, st.Column)
			}
			if pass == 1 {
				t.Values = st.Values
			}
			t.Rewrapped += st.Rewrapped
		}
		// Give a running server the time to notice the rotation before
		// counting what is still under an earlier key.
		if wait := settle - time.Since(start); wait > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
		}
		stale = 0
		if err := db.EachSealed(ctx, 1000, func(v store.SealedValue) error {
			if !sealer.UnderPrimary(v.Value) {
				stale++
			}
			return nil
		}); err != nil {
			return err
		}
		if stale == 0 {
			break
		}
	}
	details := map[string]any{}
	n := 0
	for _, c := range order {
		t := total[c]
		fmt.Fprintf(e.stdout, "%s: %d values, %d re-wrapped\n", c, t.Values, t.Rewrapped)
		details[c] = t.Rewrapped
		n += t.Rewrapped
	}
	sys := mamori.WithActor(ctx, mamori.SystemActor())
	if err := db.AppendAudit(sys, audit.New(sys, audit.KeysRewrapped, "keyset", "").With("rewrapped", n).With("columns", details)); err != nil {
		return err
	}
	if stale > 0 {
		return &ExitError{Code: exitFail, Message: fmt.Sprintf("%d values are still under an earlier key; run mamori keys rewrap again", stale)}
	}
	fmt.Fprintf(e.stdout, "Every encrypted value is under the primary key.\n")
	return nil
}
