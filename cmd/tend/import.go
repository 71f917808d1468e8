package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/importer"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/workspace"
)

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tend import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tend import accounts|contacts|traits|events FILE [flags]")
		fs.PrintDefaults()
	}
	var f storeFlags
	f.register(fs)
	skip := fs.Bool("skip-invalid", false, "write the good rows and list the bad ones (default: write nothing if any row is bad)")
	format := fs.String("format", "", "csv or jsonl (default: from the file name)")
	// Flags may come before or after the two positional arguments.
	var pos []string
	for {
		if err := parse(fs, args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != 2 || !(slices.Contains(importer.Kinds, importer.Kind(pos[0])) || pos[0] == string(importer.Events)) {
		fs.Usage()
		return errUsage
	}
	kind, path := importer.Kind(pos[0]), pos[1]
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	ws, err := f.loadWorkspace(stderr)
	if err != nil {
		return err
	}
	st, err := f.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	opt := importer.Options{
		Format:      *format,
		SkipInvalid: *skip,
		Progress:    importer.TerminalProgress(stderr, "importing "+string(kind)),
		FileName:    path,
	}
	if kind == importer.Events {
		return importEvents(ctx, st, ws, file, path, opt, stdout, stderr)
	}
	rep, err := importer.Run(ctx, st, ws, kind, file, opt)
	if werr := rep.WriteErrors(stderr, path); werr != nil {
		return werr
	}
	if err != nil {
		msg := derrors.Public(err).Error()
		if derrors.CodeOf(err) == derrors.Internal {
			msg = err.Error()
		}
		return fmt.Errorf("%s: %s", path, strings.TrimSpace(msg))
	}
	fmt.Fprintln(stdout, rep.Summary())
	if rep.BadRows > 0 {
		return silentError{fmt.Errorf("%d bad rows", rep.BadRows)}
	}
	return nil
}

// importEvents backfills product events through a usage engine of its own,
// which writes the accounts' usage traits when it is flushed. A running
// tend serve keeps its own usage state in memory and would not see them:
// stop it first, or send the events to its /v1/batch instead.
func importEvents(ctx context.Context, st store.Store, ws *workspace.Workspace, file *os.File, path string, opt importer.Options,
	stdout, stderr io.Writer) error {
	eng, err := startUsage(ctx, st, ws, newLogger(stderr), time.Now)
	if err != nil {
		return err
	}
	rep, err := importer.RunEvents(ctx, st, eng, file, opt)
	if cerr := eng.Close(); err == nil {
		err = cerr
	}
	if werr := rep.WriteErrors(stderr, path); werr != nil {
		return werr
	}
	if err != nil {
		msg := derrors.Public(err).Error()
		if derrors.CodeOf(err) == derrors.Internal {
			msg = err.Error()
		}
		return fmt.Errorf("%s: %s", path, strings.TrimSpace(msg))
	}
	fmt.Fprintln(stdout, rep.Summary())
	if rep.BadRows > 0 {
		return silentError{fmt.Errorf("%d bad lines", rep.BadRows)}
	}
	return nil
}
