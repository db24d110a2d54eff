package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
)

func runMigrate(ctx context.Context, e *env, args []string) error {
	sub := "up"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		sub, args = args[0], args[1:]
	}
	if sub != "up" && sub != "status" {
		return usagef("usage: mamori migrate up|status [--data-dir DIR | --database-url URL]")
	}
	fs := newFlagSet(e, "migrate "+sub, "[--data-dir DIR | --database-url URL]")
	var sf storeFlags
	sf.register(fs)
	if _, err := parseFlags(fs, args); err != nil {
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
	if sub == "up" {
		n, err := db.Migrate(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Applied %d migration(s) to the %s database.\n", n, db.Dialect())
		return nil
	}
	st, err := db.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tNAME\tAPPLIED")
	for _, m := range st {
		applied := "pending"
		if !m.AppliedAt.IsZero() {
			applied = m.AppliedAt.Format("2006-01-02 15:04:05Z")
		}
		fmt.Fprintf(tw, "%04d\t%s\t%s\n", m.Version, m.Name, applied)
	}
	return tw.Flush()
}
