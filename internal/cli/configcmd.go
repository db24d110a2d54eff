package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
)

func runConfig(_ context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "check" {
		return usagef("usage: mamori config check [--config FILE] [--data-dir DIR] [--database-url URL] [--addr HOST:PORT]")
	}
	fs := newFlagSet(e, "config check", "[--config FILE] [--data-dir DIR] [--database-url URL] [--addr HOST:PORT]")
	var sf storeFlags
	sf.register(fs)
	addr := fs.String("addr", "", "HOST:PORT to listen on")
	if _, err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	cfg, err := sf.load(e, map[string]string{"addr": *addr})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tVALUE\tENVIRONMENT")
	for _, s := range cfg.Redacted() {
		v := s.Value
		if v == "" {
			v = "(empty)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Key, v, s.Env)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "\nThe configuration is valid.")
	return nil
}
