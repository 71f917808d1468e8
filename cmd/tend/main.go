// Command tend is Tend, the self-hosted customer success platform: one
// binary whose subcommands serve the web UI and API, generate a demo book of
// business, import data, validate a workspace and manage users.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/tendhq/tend/internal/derrors"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the web UI and API", runServe},
		{"demo", "generate a demo book of business into a fresh store and serve it", runDemo},
		{"simulate", "run the engine day by day over a copy of the data and report every change", runSimulate},
		{"import", "import accounts, contacts or traits from CSV or JSON lines", runImport},
		{"check", "validate a workspace directory", runCheck},
		{"migrate", "apply database migrations", runMigrate},
		{"user", "manage team members (user add)", runUser},
		{"token", "manage API tokens (token create)", runToken},
		{"writekey", "manage write keys for usage ingestion (writekey create, list, revoke)", runWriteKey},
		{"campaign", "list campaigns, preview a campaign email, broadcast (campaign list, preview, broadcast)", runCampaign},
		{"version", "print the version", runVersion},
	}
}

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				return 2
			}
			var silent silentError
			if !errors.As(err, &silent) {
				if derrors.CodeOf(err) != derrors.Internal {
					// A coded error's message is written for people; the
					// operations it was wrapped with are not.
					err = derrors.Public(err)
				}
				fmt.Fprintf(stderr, "tend %s: %v\n", c.name, err)
			}
			return 1
		}
	}
	fmt.Fprintf(stderr, "tend: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Tend — self-hosted customer success.\n\nUsage: tend <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'tend <command> -h' for a command's flags.")
}

// errUsage reports a command-line mistake already explained on stderr.
var errUsage = errors.New("usage")

// silentError is a failure whose explanation was already printed.
type silentError struct{ error }

func runVersion(_ context.Context, _ []string, stdout, _ io.Writer) error {
	fmt.Fprintln(stdout, "tend", version)
	return nil
}
