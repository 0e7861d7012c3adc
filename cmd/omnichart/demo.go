package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"omnichart/internal/demo"
	"omnichart/internal/ehr"
	"omnichart/internal/service"
	"omnichart/internal/smart"
)

const demoUsage = `usage: omnichart demo [flags]

Serves Omnichart, as "omnichart serve" does, with a demo data set: about forty
synthetic people known to four enterprises (a hospital, a family practice, a
laboratory and a pharmacy), generated as "omnichart gen" does, plus a few
shipped C-CDA documents and HL7 v2 messages, imported through the import
pipeline and matched by the master patient index; the EMR software directory's
products, a review queue and a quarantine with something in them. See
docs/demo.md.

The first start builds the data set in --data-dir (default ./omnichart-demo/);
later starts reuse it. Delete the folder to start again. Authorization stays on:
the demo prints the web UI's address and the sign-in of its clinician, whose
password is kept in DATA-DIR/sign-in.txt.

Takes every flag of serve; --db defaults to sqlite:DATA-DIR/omnichart.db. Every
flag can also be set as OMNICHART_<FLAG>.

flags:
`

// signInFile is the file of the demo's data directory that keeps the demo
// clinician's password, so that later starts can print it.
const signInFile = "sign-in.txt"

func demoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), demoUsage); fs.PrintDefaults() }
	dataDir := fs.String("data-dir", "omnichart-demo", "folder of the demo's store (unless --db names another) and of sign-in.txt")
	people := fs.Int("people", demo.DefaultPeople, "people generated when the data set is built")
	seed := fs.Int64("seed", demo.DefaultSeed, "seed of the generated population when the data set is built")
	f := addServeFlags(fs, "")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("demo: unexpected argument %q", fs.Arg(0))
	}
	if *f.insecure {
		return errors.New("demo: --insecure-no-auth is not offered; the demo keeps authorization on and prints the sign-in of its clinician")
	}
	if *people < 1 || *people > 2000 {
		return fmt.Errorf("demo: --people must be between 1 and 2000, not %d", *people)
	}
	if err := f.resolve(); err != nil {
		return err
	}
	if *f.db == "" {
		*f.db = "sqlite:" + filepath.Join(*dataDir, "omnichart.db")
	}
	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	password, err := prepareDemo(ctx, f, *dataDir, *people, *seed, stdout)
	if err != nil {
		return err
	}
	return runServer(ctx, f, stdout, stderr, func(addr net.Addr) {
		fmt.Fprintf(stdout, "web UI at %s://%s/\n", f.scheme(), browsable(addr))
		fmt.Fprintf(stdout, "sign in as %q with password %q (the demo clinician of %s)\n", demo.ClinicianUser, password, demo.ClinicianOrg)
	})
}

// prepareDemo builds the demo data set into the store f names, or reuses the
// one there, and returns the demo clinician's password.
func prepareDemo(ctx context.Context, f *serveFlags, dataDir string, people int, seed int64, stdout io.Writer) (string, error) {
	p, err := openPipeline(ctx, *f.db, "", "", service.Options{MaxBundleEntries: *f.maxEntries}, *f.auditKeyFile)
	if err != nil {
		return "", err
	}
	defer p.close()
	if err := p.match(ctx); err != nil {
		return "", err
	}
	auth := smart.New(smart.Config{DB: p.store.DB(), Postgres: isPostgres(*f.db), SecretsKey: p.secretsKey})
	file := filepath.Join(dataDir, signInFile)
	m, err := demo.ReadManifest(ctx, p.svc)
	switch {
	case err == nil:
		fmt.Fprintf(stdout, "reusing the demo data set built %s (%d people, seed %d); delete %s to build it again\n",
			m.Built.Local().Format("2006-01-02 15:04"), m.People, m.Seed, dataDir)
		password, err := readSignIn(file)
		if err == nil {
			return password, nil
		}
		// The data set is there but its password is not (another data
		// directory, or the file was deleted): the clinician gets a new one.
		password = demo.NewPassword()
		if err := demo.SetPassword(adminContext(ctx), auth, password); err != nil {
			return "", err
		}
		return password, writeSignIn(file, password)
	case ehr.ErrorCode(err) != ehr.NotFound:
		return "", err
	}
	fmt.Fprintf(stdout, "building the demo data set in %s (first start)\n", dataDir)
	start := time.Now()
	password := demo.NewPassword()
	rep, err := demo.Build(ctx, p.svc, auth, demo.Options{People: people, Seed: seed, Password: password, Progress: stdout})
	if err != nil {
		return "", fmt.Errorf("demo: %w (start again to complete it)", err)
	}
	if err := writeSignIn(file, password); err != nil {
		return "", err
	}
	total := 0
	for _, n := range rep.Created {
		total += n
	}
	fmt.Fprintf(stdout, "built the demo data set in %s: %d resources\n", time.Since(start).Round(100*time.Millisecond), total)
	return password, nil
}

// writeSignIn keeps the demo clinician's password in the data directory,
// readable by its owner only.
func writeSignIn(file, password string) error {
	text := fmt.Sprintf("# The sign-in of the Omnichart demo clinician (synthetic data only).\nuser: %s\npassword: %s\n", demo.ClinicianUser, password)
	return os.WriteFile(file, []byte(text), 0o600)
}

// readSignIn reads the password writeSignIn kept.
func readSignIn(file string) (string, error) {
	fh, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	lines := bufio.NewScanner(fh)
	for lines.Scan() {
		if pw, ok := strings.CutPrefix(lines.Text(), "password: "); ok && len(pw) >= 12 {
			return pw, nil
		}
	}
	if err := lines.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s: no password: %w", file, fs.ErrNotExist)
}

// browsable is the address a browser on this machine reaches a listener on: a
// listener on every interface (0.0.0.0, ::) is reached at 127.0.0.1.
func browsable(addr net.Addr) string {
	if tcp, ok := addr.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp.Port))
	}
	return addr.String()
}
