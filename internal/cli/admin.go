package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/auth"
)

func runAdmin(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return usagef("usage: mamori admin create --email ADDRESS [--name NAME] [--roles ROLES]")
	}
	fs := newFlagSet(e, "admin create", "--email ADDRESS [--name NAME] [--roles admin,security_manager]")
	var sf storeFlags
	sf.register(fs)
	email := fs.String("email", "", "e-mail address (the login ID) of the administrator")
	name := fs.String("name", "", "display name")
	roles := fs.String("roles", auth.RoleAdmin+","+auth.RoleSecurityManager, "comma-separated roles")
	if _, err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *email == "" {
		return usagef("--email is required")
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
	pw, err := readPassword(e.stdin)
	if err != nil {
		return err
	}
	u, generated, err := svc.auth.CreateWithPassword(mamori.WithActor(ctx, mamori.SystemActor()),
		auth.UserInput{Email: *email, DisplayName: *name, Roles: splitList(*roles)}, pw)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Created %s with roles %s.\n", u.Email, strings.Join(u.Roles, ", "))
	if generated != "" {
		fmt.Fprintf(e.stdout, "Password (shown once; change it after signing in): %s\n", generated)
	}
	if auth.NeedsMFA(u.Roles, false) {
		fmt.Fprintln(e.stdout, "At the first sign-in you will set up two-step verification (an authenticator app or a passkey).")
	}
	return nil
}

// readPassword reads the first line of stdin when it is a pipe or a file;
// on a terminal (or with nothing piped) it returns "" and a password is
// generated instead.
func readPassword(r io.Reader) (string, error) {
	if f, ok := r.(*os.File); ok {
		fi, err := f.Stat()
		if err != nil || fi.Mode()&os.ModeCharDevice != 0 {
			return "", nil
		}
	}
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
