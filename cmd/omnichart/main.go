// Command omnichart is the Omnichart EHR server and its tools.
//
//	omnichart serve [--addr 127.0.0.1:8080] [--db sqlite:PATH | postgres://...]
//	omnichart demo [--data-dir omnichart-demo] [the flags of serve]
//	omnichart import [--db ... | --server URL] [--source SLUG|URI] PATH...
//	omnichart admin source|quarantine|reindex|org|user|client|token|launch ...
//	omnichart gen --people N --sources K --seed S --out DIR
//	omnichart version
//
// Every flag can also be given as an OMNICHART_* environment variable: --db is
// OMNICHART_DB, --max-body-bytes is OMNICHART_MAX_BODY_BYTES. A flag on the command
// line wins over the environment.
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
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "omnichart:", err)
		os.Exit(1)
	}
}

const usage = `usage: omnichart <command> [flags]

commands:
  serve     serve the FHIR R4 API
  demo      serve with a demo data set of several enterprises (built on first start)
  import    import FHIR bundles, NDJSON, C-CDA and HL7 v2 files
  admin     source directory, import quarantine, users, clients and tokens
  gen       write a synthetic multi-source population and its truth
  directory load the EMR software directory (certified products and their endpoints)
  version   print the version

Run "omnichart <command> -h" for the flags of a command.
`

// run runs the command args name. A request for help (-h or --help on any command)
// prints that command's usage to stdout and succeeds.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	err := command(ctx, args, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

func command(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("no command given")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "demo":
		return demoCmd(ctx, args[1:], stdout, stderr)
	case "import":
		return importCmd(ctx, args[1:], stdout, stderr)
	case "admin":
		return admin(ctx, args[1:], stdout, stderr)
	case "gen":
		return genCmd(ctx, args[1:], stdout, stderr)
	case "directory":
		return directoryCmd(ctx, args[1:], stdout, stderr)
	case "version":
		fs := flag.NewFlagSet("version", flag.ContinueOnError)
		fs.SetOutput(stderr)
		fs.Usage = func() { fmt.Fprintln(fs.Output(), "usage: omnichart version\n\nPrints the version of this build.") }
		if err := parseFlags(fs, args[1:], stdout); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "omnichart", version)
		return nil
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
