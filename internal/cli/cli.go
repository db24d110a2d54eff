// Package cli is mamori's command line: it parses arguments, loads the
// configuration and wires the store, services and HTTP server together.
// It is the only package that imports everything.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"

	"github.com/mamori-dev/mamori"
)

// Exit codes shared by every subcommand. A subcommand with its own meaning
// for exit 1 (for example "findings at or above the level", as scanners do)
// returns an *ExitError.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// ExitError ends a command with a chosen exit code. Message, if set, is
// printed to stderr.
type ExitError struct {
	Code    int
	Message string
}

func (e *ExitError) Error() string { return e.Message }

// env is what every subcommand gets: its streams and the signal context.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	environFn      func() []string // nil: the process environment
}

// command is one row of the subcommand table. A command with subcommands of
// its own ("migrate up") parses them in run.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

// commands is THE list of subcommands.
func commands() []command {
	return []command{
		{"serve", "run the web server (UI, REST API, metrics)", runServe},
		{"migrate", "apply (up) or list (status) database migrations", runMigrate},
		{"config", "check: validate and print the effective configuration, secrets redacted", runConfig},
		{"admin", "create: create an administrator account", runAdmin},
		{"keys", "list: keys and encrypted columns; rotate: new key-encryption key and re-wrap; rewrap", runKeys},
		{"backup", "create --out FILE, verify FILE, restore FILE --data-dir DIR: signed, encrypted backups", runBackup},
		{"audit", "verify: check the audit trail against its signed checkpoints; checkpoint: sign one now", runAudit},
		{"version", "print the version and build information", runVersion},
		{"vuln", "match SBOMs against vulnerability advisories (vuln match)", runVuln},
		{"detect", "detection of sign-in attacks: replay events over the detectors, sweep thresholds", runDetect},
		{"catalog", "list, show, export and import control catalogs (FSA guideline …)", runCatalog},
		{"assessment", "list, export (xlsx, json, pdf, check sheet) and import assessments", runAssessment},
	}
}

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return run(ctx, args, &env{stdin: stdin, stdout: stdout, stderr: stderr})
}

func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return report(e, c.name, c.run(ctx, e, args[1:]))
		}
	}
	fmt.Fprintf(e.stderr, "mamori: unknown command %q (run 'mamori help')\n", args[0])
	return exitUsage
}

// report turns a command's error into a message on stderr and an exit code.
// Application errors print their user-facing message and fields; anything
// else prints its text, since the operator running the CLI needs the cause.
func report(e *env, name string, err error) int {
	if err == nil {
		return exitOK
	}
	var xe *ExitError
	if errors.As(err, &xe) {
		if xe.Message != "" {
			fmt.Fprintf(e.stderr, "mamori %s: %s\n", name, xe.Message)
		}
		return xe.Code
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(e.stderr, "mamori %s: %s\n", name, ue.msg)
		return exitUsage
	}
	var ae *mamori.Error
	if errors.As(err, &ae) {
		fmt.Fprintf(e.stderr, "mamori %s: %s\n", name, ae.Message)
		keys := make([]string, 0, len(ae.Fields))
		for k := range ae.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(e.stderr, "  %s: %s\n", k, ae.Fields[k])
		}
		if ae.Code == mamori.EINVALID {
			return exitUsage
		}
		return exitFail
	}
	fmt.Fprintf(e.stderr, "mamori %s: %v\n", name, err)
	return exitFail
}

// usageError is a mistake in the command line itself.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func usage(w io.Writer) {
	fmt.Fprintln(w, "mamori — cybersecurity management for financial institutions (サイバーセキュリティ管理態勢)")
	fmt.Fprintln(w, "\nUsage: mamori <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'mamori <command> -h' for the flags of a command.")
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("mamori "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: mamori %s %s\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, allowing flags after positional arguments
// ("import FILE --format x"), which operators expect. "--" ends the flags.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}
