package main

import (
	"context"
	"flag"
	"fmt"
	"io"
)

func runCheck(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tend check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f storeFlags
	f.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs, 1); err != nil {
		return err
	}
	if fs.NArg() == 1 && f.workspace == "" { // tend check DIR
		f.workspace = fs.Arg(0)
	}
	ws, err := f.loadWorkspace(stderr)
	if err != nil {
		return err
	}
	metrics := 0
	for _, c := range ws.Health.Categories {
		metrics += len(c.Metrics)
	}
	fmt.Fprintf(stdout, "workspace %s is valid: %d traits, health model %q (%d categories, %d metrics), lifecycle rules, time zone %s\n",
		orDefault(f.workspace), len(ws.Traits.All()), ws.Health.Name, len(ws.Health.Categories), metrics, ws.Settings.TimeZone)
	return nil
}
