package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/team"
)

const writeKeyUsage = `usage: tend writekey create --name NAME    make a write key; prints the secret alone
       tend writekey list                  list the write keys, revoked ones included
       tend writekey revoke ID             stop a write key from working`

// runWriteKey manages the write keys that product usage is sent with
// (Segment's writeKey), as admins do on the Settings page.
func runWriteKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, writeKeyUsage)
		return errUsage
	}
	switch args[0] {
	case "create":
		return writeKeyCreate(ctx, args[1:], stdout, stderr)
	case "list":
		return writeKeyList(ctx, args[1:], stdout, stderr)
	case "revoke":
		return writeKeyRevoke(ctx, args[1:], stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stderr, writeKeyUsage)
		return flag.ErrHelp
	}
	fmt.Fprintf(stderr, "tend writekey: unknown subcommand %q\n%s\n", args[0], writeKeyUsage)
	return errUsage
}

func writeKeyCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tend writekey create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f storeFlags
	f.register(fs)
	name := fs.String("name", "", "the source the key is for, e.g. \"web app\" (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs, 0); err != nil {
		return err
	}
	*name = strings.TrimSpace(*name)
	if *name == "" {
		fmt.Fprintln(stderr, "tend writekey create: --name is required: name the source, e.g. --name \"web app\"")
		return errUsage
	}
	if utf8.RuneCountInString(*name) > team.MaxWriteKeyName {
		return fmt.Errorf("--name: is longer than %d characters", team.MaxWriteKeyName)
	}
	secret, hash, prefix, err := team.NewWriteKeySecret()
	if err != nil {
		return err
	}
	st, err := f.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	// No team member makes a key on the command line: created_by stays
	// empty, as for anything the server's operator does.
	k := store.WriteKey{Name: *name, Prefix: prefix, Hash: hash}
	if err := st.CreateWriteKey(ctx, &k); err != nil {
		return err
	}
	// The secret alone goes to stdout, so that scripts can capture it.
	fmt.Fprintln(stdout, secret)
	fmt.Fprintf(stderr, "created write key %d for %q; it is shown only once. Send it as the Segment writeKey (or the Basic-auth user).\n",
		k.ID, k.Name)
	return nil
}

func writeKeyList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tend writekey list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f storeFlags
	f.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs, 0); err != nil {
		return err
	}
	st, err := f.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	keys, err := st.ListWriteKeys(ctx)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		fmt.Fprintln(stderr, "no write keys yet; make one with tend writekey create --name NAME")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tCREATED\tLAST USED\tREVOKED")
	for _, k := range keys {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", k.ID, oneLine(k.Name), k.Prefix, when(&k.CreatedAt, "-"),
			when(k.LastUsedAt, "never"), when(k.RevokedAt, "-"))
	}
	return tw.Flush()
}

func writeKeyRevoke(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("tend writekey revoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f storeFlags
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tend writekey revoke [flags] ID")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs, 1); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "tend writekey revoke: which key? Give its ID (tend writekey list shows them)")
		return errUsage
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil || id <= 0 {
		fmt.Fprintf(stderr, "tend writekey revoke: %q is not a write key ID (a positive whole number)\n", fs.Arg(0))
		return errUsage
	}
	st, err := f.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.RevokeWriteKey(ctx, id); err != nil {
		return err
	}
	name := ""
	if keys, err := st.ListWriteKeys(ctx); err == nil {
		for _, k := range keys {
			if k.ID == id {
				name = fmt.Sprintf(" (%q)", k.Name)
			}
		}
	}
	fmt.Fprintf(stderr, "revoked write key %d%s; events sent with it are now refused\n", id, name)
	return nil
}

// when formats an instant for the table, in UTC to the minute.
func when(t *time.Time, none string) string {
	if t == nil || t.IsZero() {
		return none
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// oneLine keeps a name on its row of the table.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}
