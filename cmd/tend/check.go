package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
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
	var models []string
	for _, m := range ws.Health {
		metrics := 0
		for _, c := range m.Categories {
			metrics += len(c.Metrics)
		}
		when := "every other account"
		if m.When != nil {
			when = "when " + m.When.Source()
		}
		models = append(models, fmt.Sprintf("%q (%d categories, %d metrics; %s)", m.Name, len(m.Categories), metrics, when))
	}
	enabled := 0
	for _, p := range ws.Playbooks {
		if p.Enabled {
			enabled++
		}
	}
	var templates []string
	for _, t := range ws.DocTemplates {
		templates = append(templates, t.Key)
	}
	campaignsEnabled := 0
	for _, c := range ws.Campaigns {
		if c.Enabled {
			campaignsEnabled++
		}
	}
	fmt.Fprintf(stdout, "workspace %s is valid: %d traits, health models %s, lifecycle rules, %d playbooks (%d enabled), %d doc templates (%s), %d campaigns (%d enabled) with %d emails, time zone %s\n",
		orDefault(f.workspace), len(ws.Traits.All()), strings.Join(models, ", "), len(ws.Playbooks), enabled,
		len(templates), strings.Join(templates, ", "), len(ws.Campaigns), campaignsEnabled, len(ws.CampaignTemplates), ws.Settings.TimeZone)
	for _, n := range ws.Notes {
		fmt.Fprintf(stdout, "note: %s\n", n)
	}
	return nil
}
