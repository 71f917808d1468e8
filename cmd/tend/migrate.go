package main

import (
	"context"
	"flag"
	"fmt"
	"io"
)

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tend migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f storeFlags
	f.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs, 0); err != nil {
		return err
	}
	// Opening a store applies its pending migrations.
	st, err := f.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(stdout, "%s is up to date\n", f.where())
	return nil
}
