package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/team"
)

func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(stderr, "usage: tend token create --user EMAIL [--name NAME]")
		return errUsage
	}
	fs := flag.NewFlagSet("tend token create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f storeFlags
	f.register(fs)
	email := fs.String("user", "", "the email of the team member the token acts as (required)")
	name := fs.String("name", "cli", "a name to tell the token apart")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if err := noArgs(fs, 0); err != nil {
		return err
	}
	if *email == "" {
		fmt.Fprintln(stderr, "tend token create: --user is required")
		return errUsage
	}
	st, err := f.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.GetUserByEmail(ctx, *email)
	if derrors.Is(err, derrors.NotFound) {
		return fmt.Errorf("--user: no team member has the email %q", *email)
	}
	if err != nil {
		return err
	}
	if err := team.CanHoldToken(u); err != nil {
		return fmt.Errorf("--user: %s", derrors.Public(err).Message)
	}
	secret, tok, err := team.NewToken(u.ID, *name)
	if err != nil {
		return err
	}
	if err := st.CreateToken(ctx, &tok); err != nil {
		return err
	}
	// The secret alone goes to stdout, so that scripts can capture it.
	fmt.Fprintln(stdout, secret)
	fmt.Fprintf(stderr, "created token %q for %s; it is shown only once\n", tok.Name, u.Email)
	return nil
}
