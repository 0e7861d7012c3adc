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
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/service"
	"omnichart/internal/smart"
)

const securityUsage = `usage:
  omnichart admin org add ORG --source SLUG|URI [--source ...]
  omnichart admin user add USER --org ORG [--fhir-user Practitioner/ID] [--password-file FILE] [--break-glass]
  omnichart admin user reset USER [--password-file FILE]
  omnichart admin user disable USER
  omnichart admin user totp USER
  omnichart admin user break-glass USER on|off
  omnichart admin client add --kind public|symmetric|asymmetric --scope "SCOPES"
        [--name N] [--id ID] [--redirect-uri URI]... [--source SLUG|URI|*]...
        [--jwks FILE | --jwks-url URL] [--launch-url URL]
  omnichart admin client disable CLIENT_ID
  omnichart admin token --scope "SCOPES" [--user USER] [--patient ID] [--ttl 1h]
  omnichart admin launch --patient ID [--encounter ID]
  omnichart admin key rotate
  omnichart admin key retire --older-than DURATION

Passwords are read from --password-file, or from the first line of standard input
("-", the default); they need at least 12 characters. "client add" prints the
client id and, for a symmetric client, its secret (shown once); a client with
--launch-url is an app clinicians start from a patient's chart (an EHR launch:
the chart sends the browser to that URL with iss and launch). "token" prints a
bearer access token on its last line. "launch" records an EHR launch context and
prints the launch value (valid five minutes) an app passes back as "launch".
"key rotate" makes a new signing key (running servers take it up within a minute);
tokens signed by older keys stay valid until "key retire" deletes the keys made
more than --older-than ago (use longer than the access-token lifetime, 1h).
`

// adminSecurity runs the user, client, organization and token commands; they work
// on the database directly (--db), as the authorization server keeps its tables there.
func adminSecurity(ctx context.Context, group string, args []string, stdout, stderr io.Writer) error {
	cmd := ""
	if group != "token" && group != "launch" {
		if len(args) == 0 {
			fmt.Fprint(stderr, securityUsage)
			return fmt.Errorf("admin %s: no command given", group)
		}
		cmd, args = args[0], args[1:]
		if isHelp(cmd) {
			fmt.Fprint(stdout, securityUsage)
			return nil
		}
		valid := map[string][]string{"org": {"add"}, "user": {"add", "reset", "disable", "totp", "break-glass"}, "client": {"add", "disable"}, "key": {"rotate", "retire"}}[group]
		if !contains(valid, cmd) {
			fmt.Fprint(stderr, securityUsage)
			return fmt.Errorf("admin %s: unknown command %q", group, cmd)
		}
	}
	name := strings.TrimSpace("admin " + group + " " + cmd)
	pos, rest := splitPositional(args)
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), securityUsage+"\nflags:\n"); fs.PrintDefaults() }
	db := fs.String("db", defaultDB, "store: sqlite:PATH or postgres://user:pass@host/db")
	org := fs.String("org", "", "organization (enterprise) of the user")
	fhirUser := fs.String("fhir-user", "", "the user's FHIR resource, e.g. Practitioner/123 (the fhirUser claim)")
	breakGlass := fs.Bool("break-glass", false, "the user may break the glass: open a patient's records at every source in an emergency, with a reason, audited")
	passwordFile := fs.String("password-file", "-", "file holding the password; - reads the first line of standard input")
	kind := fs.String("kind", "", "client kind: public, symmetric (client secret) or asymmetric (private_key_jwt)")
	scope := fs.String("scope", "", "scopes, space-separated (SMART v1 or v2 syntax)")
	clientName := fs.String("name", "", "client name shown on the sign-in page")
	clientID := fs.String("id", "", "client id (default: a new UUID)")
	jwksFile := fs.String("jwks", "", "file with the client's JWK Set (public keys)")
	jwksURL := fs.String("jwks-url", "", "URL of the client's JWK Set")
	launchURL := fs.String("launch-url", "", "the app's launch URL: clinicians start it from a patient's chart (EHR launch)")
	user := fs.String("user", "", "user the token is for")
	patient := fs.String("patient", "", "launch patient id (patient/ scopes of a token, or the patient of an EHR launch)")
	encounter := fs.String("encounter", "", "encounter of an EHR launch")
	ttl := fs.Duration("ttl", time.Hour, "lifetime of the token")
	olderThan := fs.Duration("older-than", 0, "key retire: delete the signing keys made more than this long ago (never the current one)")
	var redirects, sources stringList
	fs.Var(&redirects, "redirect-uri", "registered redirect URI; repeatable")
	fs.Var(&sources, "source", "a source (slug or URI; * for all); repeatable")
	if err := parseFlags(fs, rest, stdout); err != nil {
		return err
	}
	pos = append(pos, fs.Args()...)
	wantArgs := 1
	if (group == "client" && cmd != "disable") || group == "token" || group == "launch" || group == "key" {
		wantArgs = 0
	}
	if cmd == "break-glass" {
		wantArgs = 2
	}
	if len(pos) != wantArgs {
		fs.Usage()
		return fmt.Errorf("%s: want %d argument(s), got %d", name, wantArgs, len(pos))
	}
	p, err := openPipeline(ctx, *db, "", "", service.Options{})
	if err != nil {
		return err
	}
	defer p.close()
	ctx = adminContext(ctx)
	auth := smart.New(smart.Config{DB: p.store.DB(), Postgres: isPostgres(*db), Auditor: p.audit, SecretsKey: p.secretsKey})
	// change records a change of who may do what before it is made, so that no
	// change is ever without its record; one that then fails gets a second
	// record with its outcome.
	change := func(detail string, fn func() error) error {
		ev := ehr.AccessEvent{Interaction: "user-change", Subject: "admin", Address: "command line", Detail: detail}
		if err := p.svc.Audit(ctx, ev); err != nil {
			return err
		}
		if err := fn(); err != nil {
			ev.Outcome = string(ehr.ErrorCode(err))
			p.svc.Audit(ctx, ev)
			return err
		}
		return nil
	}
	resolve := func(s string) (string, error) {
		if s == "*" || strings.Contains(s, ":") {
			return s, nil
		}
		src, err := p.dir.Find(ctx, s)
		if err != nil {
			return "", fmt.Errorf("--source %s: %w", s, err)
		}
		return src.URI, nil
	}
	switch group + " " + cmd {
	case "org add":
		if len(sources) == 0 {
			return errors.New("admin org add: give at least one --source")
		}
		for _, s := range sources {
			uri, err := resolve(s)
			if err != nil {
				return err
			}
			if uri == "*" {
				return errors.New("admin org add: an organization lists its sources; * is for backend clients")
			}
			if err := change("org "+pos[0]+" sees "+uri, func() error { return auth.AddOrgSource(ctx, pos[0], uri) }); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "organization %s: users see records of %s\n", pos[0], uri)
		}
		return nil
	case "user add", "user reset":
		if cmd == "add" && *org == "" {
			return errors.New("admin user add: --org is required")
		}
		pw, err := readPassword(*passwordFile)
		if err != nil {
			return err
		}
		if cmd == "add" {
			detail := "user add " + pos[0] + " org " + *org
			if *breakGlass {
				detail += " may break the glass"
			}
			err = change(detail, func() error {
				return auth.AddUser(ctx, smart.User{Username: pos[0], Org: *org, FHIRUser: *fhirUser, MayBreakGlass: *breakGlass}, pw)
			})
		} else {
			err = change("user reset "+pos[0], func() error { return auth.ResetPassword(ctx, pos[0], pw) })
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s: password set\n", pos[0])
		return nil
	case "key rotate":
		kid, err := auth.RotateSigningKey(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "new signing key %s; tokens signed by older keys stay valid until \"admin key retire\"\n", kid)
		return nil
	case "key retire":
		if *olderThan <= 0 {
			return errors.New("admin key retire: give --older-than, longer than the access-token lifetime (e.g. 2h)")
		}
		n, err := auth.RetireSigningKeys(ctx, *olderThan)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d signing key(s) retired; tokens they signed are refused from now on\n", n)
		return nil
	case "user disable":
		if err := change("user disable "+pos[0], func() error { return auth.DisableUser(ctx, pos[0]) }); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s disabled; the user's tokens no longer work\n", pos[0])
		return nil
	case "client disable":
		if err := change("client disable "+pos[0], func() error { return auth.DisableClient(ctx, pos[0]) }); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "client %s disabled; its tokens no longer work and it gets no new ones\n", pos[0])
		return nil
	case "user break-glass":
		if len(pos) != 2 || (pos[1] != "on" && pos[1] != "off") {
			return errors.New("admin user break-glass: give USER and on or off")
		}
		if err := change("user break-glass "+pos[0]+" "+pos[1], func() error { return auth.SetBreakGlass(ctx, pos[0], pos[1] == "on") }); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s: break-the-glass %s\n", pos[0], pos[1])
		return nil
	case "user totp":
		var u string
		err := change("user totp "+pos[0], func() (err error) {
			u, err = auth.EnableTOTP(ctx, pos[0])
			return err
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s now signs in with a one-time code; load this into an authenticator app (it holds the secret):\n%s\n", pos[0], u)
		return nil
	case "client add":
		c := smart.Client{ID: *clientID, Name: *clientName, Kind: *kind, RedirectURIs: redirects, Scopes: *scope, JWKSURL: *jwksURL, LaunchURL: *launchURL}
		if *jwksFile != "" {
			raw, err := os.ReadFile(*jwksFile)
			if err != nil {
				return err
			}
			c.JWKS = string(raw)
		}
		for _, s := range sources {
			uri, err := resolve(s)
			if err != nil {
				return err
			}
			c.Sources = append(c.Sources, uri)
		}
		var id, secret string
		err := change("client add "+c.ID+" scopes "+c.Scopes+" sources "+strings.Join(c.Sources, " "), func() (err error) {
			id, secret, err = auth.AddClient(ctx, c)
			return err
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "client_id: %s\n", id)
		if secret != "" {
			fmt.Fprintf(stdout, "client_secret: %s\n", secret)
		}
		return nil
	case "launch ":
		launch, err := auth.NewLaunch(ctx, *patient, *encounter)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, launch)
		return nil
	case "token ":
		tok, err := auth.IssueToken(ctx, *scope, *user, *patient, *ttl)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, tok)
		return nil
	}
	return fmt.Errorf("%s: not a command", name)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// readPassword reads the first line of file ("-": standard input).
func readPassword(file string) (string, error) {
	var r io.Reader = os.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
