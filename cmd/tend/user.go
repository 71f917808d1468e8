package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/tendhq/tend/internal/team"
)

func runUser(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		fmt.Fprintln(stderr, "usage: tend user add --email EMAIL --name NAME [--role ROLE | --admin] [--password-stdin]")
		return errUsage
	}
	fs := flag.NewFlagSet("tend user add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f storeFlags
	f.register(fs)
	email := fs.String("email", "", "the member's email, their login (required)")
	name := fs.String("name", "", "the member's name (required)")
	role := fs.String("role", string(team.TA), "role: admin, manager, ta, ae, ce or viewer")
	admin := fs.Bool("admin", false, "make the member an admin (same as --role admin)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from standard input instead of asking")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if err := noArgs(fs, 0); err != nil {
		return err
	}
	if *admin {
		*role = string(team.Admin)
	}
	u := team.User{Email: *email, Name: *name, Role: team.Role(*role)}
	if err := u.Validate(); err != nil {
		return fmt.Errorf("--%v", err)
	}
	password, err := readPassword(os.Stdin, stderr, *fromStdin)
	if err != nil {
		return err
	}
	if u.PasswordHash, err = team.HashPassword(password); err != nil {
		return err
	}
	st, err := f.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.CreateUser(ctx, &u); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "added %s <%s> as %s\n", u.Name, u.Email, u.Role.Label())
	return nil
}

// readPassword asks twice on a terminal, or reads one line otherwise; the
// environment variable TEND_PASSWORD, when set, answers instead.
func readPassword(in *os.File, stderr io.Writer, fromStdin bool) (string, error) {
	if p := os.Getenv("TEND_PASSWORD"); p != "" && !fromStdin {
		return p, nil
	}
	fd := int(in.Fd())
	if fromStdin || !term.IsTerminal(fd) {
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	fmt.Fprint(stderr, "Password: ")
	p1, err := term.ReadPassword(fd)
	fmt.Fprintln(stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(stderr, "Again: ")
	p2, err := term.ReadPassword(fd)
	fmt.Fprintln(stderr)
	if err != nil {
		return "", err
	}
	if string(p1) != string(p2) {
		return "", errors.New("the passwords differ")
	}
	return string(p1), nil
}
