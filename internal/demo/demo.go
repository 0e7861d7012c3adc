package demo

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"omnichart/internal/directory"
	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/gen"
	"omnichart/internal/ingest"
	"omnichart/internal/service"
)

// Defaults of the data set.
const (
	// DefaultPeople is the number of generated persons: enough for look-alikes,
	// shared facts and conflicts to occur, few enough to import in seconds.
	DefaultPeople = 40
	// DefaultSeed selects the generated population.
	DefaultSeed int64 = 1
	// Difficulty is the generator preset: the hardest, so that the records
	// differ the way real registries do and the matcher has work to show.
	Difficulty = "hard"
	// Sources is the number of generated enterprises: a hospital (HL7 v2, and
	// C-CDA from the shipped files), a family practice (FHIR), a reference
	// laboratory (HL7 v2) and a pharmacy (FHIR).
	Sources = 4
)

// The manifest: written last, it marks a complete data set.
const (
	// ManifestID is the id of the manifest, a Basic resource.
	ManifestID = "omnichart-demo"
	// ManifestSource owns the manifest (meta.source); no organization sees it.
	ManifestSource = "urn:omnichart:source:omnichart-demo"
	manifestSystem = "urn:omnichart:demo"
)

// directoryListings are the CHPL listings of the EMR software directory the
// enterprises run: St. Mary's runs Epic's EpicCare Inpatient, the practice
// athenahealth's athenaClinicals. The laboratory's and pharmacy's systems are
// not certified EHRs, so the directory does not list them.
var directoryListings = map[string]int{"st-marys": 11453, "riverside-family": 11259}

// moreInterfaces are interfaces an enterprise has beside the one the generator
// gives it: St. Mary's also sends C-CDA documents (the shipped ones).
var moreInterfaces = map[string][]string{"st-marys": {ingest.InterfaceCCDA}}

// Options say what Build makes.
type Options struct {
	// People and Seed are the generator's; DefaultPeople and DefaultSeed when 0.
	People int
	Seed   int64
	// Password is the demo clinician's (at least 12 characters; see NewPassword).
	Password string
	// Progress receives a line per step; nil discards them.
	Progress io.Writer
	// Now is the clock of the manifest; time.Now when nil.
	Now func() time.Time
}

// Manifest describes a complete data set.
type Manifest struct {
	People int
	Seed   int64
	Built  time.Time
}

// SourceReport is what one enterprise's import did.
type SourceReport struct {
	Slug, Name string
	// Files are the originals read; Units the documents and messages in them.
	Files, Units int
	// New, Duplicate and Failed count the units imported, recognised as
	// imported before, and quarantined.
	New, Duplicate, Failed int
}

// Report says what Build did.
type Report struct {
	Manifest
	Sources []SourceReport
	// Created counts the resources the imports created, by type.
	Created map[string]int
	// Directory is what loading the directory's products changed.
	Directory *directory.Report
}

// Enterprise is one demo enterprise: the generated source, and where it stands
// in the EMR software directory.
type Enterprise struct {
	*gen.Source
	// DirectoryProduct is "DeviceDefinition/<id>" of the product it runs, or "".
	DirectoryProduct string
}

// Enterprises returns the demo enterprises of a population of seed.
func Enterprises(seed int64) ([]Enterprise, error) {
	o, err := options(1, seed)
	if err != nil {
		return nil, err
	}
	res, err := gen.Generate(o, func(string, []byte) error { return nil })
	if err != nil {
		return nil, err
	}
	return enterprises(res.Sources), nil
}

func enterprises(srcs []*gen.Source) []Enterprise {
	out := make([]Enterprise, len(srcs))
	for i, s := range srcs {
		out[i] = Enterprise{Source: s}
		if id := directoryListings[s.Slug]; id != 0 {
			out[i].DirectoryProduct = "DeviceDefinition/chpl-" + strconv.Itoa(id)
		}
	}
	return out
}

// options are the generator's options of the data set.
func options(people int, seed int64) (gen.Options, error) {
	o, err := gen.Preset(Difficulty)
	if err != nil {
		return o, err
	}
	o.People, o.Sources, o.Seed = people, Sources, seed
	return o, o.Validate()
}

// adminContext is the context of the build's own writes: the source directory,
// the EMR software directory. The importer writes as each source.
func adminContext(ctx context.Context) context.Context {
	return ehr.WithPrincipal(ctx, ehr.Principal{Subject: "demo", System: true})
}

// Build makes the data set in the store behind svc and sets up its users in
// auth (see the package comment), reporting each step to o.Progress. Patients
// are matched as they commit when the caller has attached the master patient
// index to svc. Build can run again on a store it already ran on, and completes
// a build cut short; it fails when the store or the import fails outright (a
// quarantined message is not a failure).
func Build(ctx context.Context, svc *service.Service, auth Users, o Options) (*Report, error) {
	if o.People == 0 {
		o.People = DefaultPeople
	}
	if o.Seed == 0 {
		o.Seed = DefaultSeed
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	gopts, err := options(o.People, o.Seed)
	if err != nil {
		return nil, err
	}
	shippedFiles, err := Shipped()
	if err != nil {
		return nil, fmt.Errorf("read the shipped files: %w", err)
	}
	files := map[string][]byte{}
	res, err := gen.Generate(gopts, func(name string, data []byte) error {
		files[name] = data
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("generate the population: %w", err)
	}
	ents := enterprises(res.Sources)
	fmt.Fprintf(o.Progress, "generated %d people known to %d enterprises (seed %d, %s)\n", o.People, len(ents), o.Seed, Difficulty)

	rep := &Report{Manifest: Manifest{People: o.People, Seed: o.Seed}, Created: map[string]int{}}
	admin := adminContext(ctx)
	start := time.Now()
	if rep.Directory, err = loadProducts(admin, svc); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Progress, "loaded the products of the EMR software directory (snapshot %s) in %s\n", directory.ShippedSnapshot, time.Since(start).Round(10*time.Millisecond))

	target := ingest.ServiceTarget{Service: svc}
	dir := ingest.NewDirectory(target)
	im := ingest.New(target, ingest.Options{})
	for _, e := range ents {
		src, err := register(admin, dir, e)
		if err != nil {
			return nil, err
		}
		sr := SourceReport{Slug: e.Slug, Name: e.Name}
		var names []string
		prefix := "sources/" + e.Slug + "/"
		for name := range files {
			if strings.HasPrefix(name, prefix) {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		inputs := make([]ingest.Input, 0, len(names))
		for _, name := range names {
			inputs = append(inputs, ingest.Input{Name: strings.TrimPrefix(name, prefix), Data: files[name]})
		}
		for _, f := range shippedFiles {
			if f.Source == e.Slug {
				inputs = append(inputs, ingest.Input{Name: f.Name, Data: f.Data})
			}
		}
		start := time.Now()
		for _, in := range inputs {
			r, err := im.Import(ctx, src, in)
			if err != nil {
				return nil, fmt.Errorf("import %s from %s: %w", in.Name, e.Slug, err)
			}
			sr.Files++
			for _, u := range r.Units {
				sr.Units++
				switch {
				case u.Err != nil:
					sr.Failed++
				case u.Duplicate:
					sr.Duplicate++
				default:
					sr.New++
				}
				for typ, n := range u.Created {
					rep.Created[typ] += n
				}
			}
		}
		rep.Sources = append(rep.Sources, sr)
		fmt.Fprintf(o.Progress, "imported %-30s %3d files, %4d documents and messages: %d new, %d imported before, %d quarantined (%s)\n",
			e.Name, sr.Files, sr.Units, sr.New, sr.Duplicate, sr.Failed, time.Since(start).Round(10*time.Millisecond))
	}
	if err := setUpUsers(ctx, auth, ents, o.Password); err != nil {
		return nil, err
	}
	rep.Built = o.Now().UTC().Truncate(time.Second)
	if err := writeManifest(ctx, svc, rep.Manifest); err != nil {
		return nil, err
	}
	return rep, nil
}

// loadProducts loads the products of the snapshot built into the binary and
// their developers, without the organizations' endpoints: the whole snapshot
// takes longer to load than the demo may take to start ("omnichart directory
// load" loads the rest into the demo's store).
func loadProducts(ctx context.Context, svc *service.Service) (*directory.Report, error) {
	snap, err := directory.ReadShipped()
	if err != nil {
		return nil, err
	}
	rep, err := directory.Load(ctx, svc, &directory.Snapshot{Products: snap.Products})
	if err != nil {
		return nil, fmt.Errorf("load the EMR software directory: %w", err)
	}
	return rep, nil
}

// register finds an enterprise's source, or registers it with its interfaces
// and its product in the EMR software directory.
func register(ctx context.Context, dir *ingest.Directory, e Enterprise) (ingest.Source, error) {
	src, err := dir.Find(ctx, e.Slug)
	if err == nil {
		return src, nil
	}
	if ehr.ErrorCode(err) != ehr.NotFound {
		return src, err
	}
	src = ingest.Source{Slug: e.Slug, URI: e.URI, Name: e.Name, Vendor: e.Vendor, Product: e.Product, Active: true,
		DirectoryProduct: e.DirectoryProduct}
	for _, kind := range append(append([]string{}, e.Interfaces...), moreInterfaces[e.Slug]...) {
		src.Interfaces = append(src.Interfaces, ingest.Interface{Kind: kind, Active: true})
	}
	if src, err = dir.Add(ctx, src); err != nil {
		return src, fmt.Errorf("register source %s: %w", e.Slug, err)
	}
	return src, nil
}

// writeManifest writes Basic/omnichart-demo.
func writeManifest(ctx context.Context, svc *service.Service, m Manifest) error {
	ctx = ehr.WithPrincipal(ctx, ehr.Principal{Subject: "demo", Source: ManifestSource, System: true})
	res := map[string]any{
		"resourceType": "Basic", "id": ManifestID,
		"code": map[string]any{"coding": []any{map[string]any{"system": manifestSystem, "code": "data-set", "display": "Omnichart demo data set"}}},
		"extension": []any{
			map[string]any{"url": manifestSystem + ":people", "valueInteger": json.Number(strconv.Itoa(m.People))},
			map[string]any{"url": manifestSystem + ":seed", "valueString": strconv.FormatInt(m.Seed, 10)},
			map[string]any{"url": manifestSystem + ":built", "valueDateTime": m.Built.Format(time.RFC3339)},
		},
	}
	if _, _, err := svc.Update(ctx, "Basic", ManifestID, res, 0); err != nil {
		return fmt.Errorf("write the demo manifest: %w", err)
	}
	return nil
}

// ReadManifest reads the manifest of a complete data set. Without one (no
// data set, or one cut short) the error's code is ehr.NotFound.
func ReadManifest(ctx context.Context, svc *service.Service) (*Manifest, error) {
	rec, err := svc.Read(adminContext(ctx), "Basic", ManifestID)
	if ehr.ErrorCode(err) == ehr.Gone {
		err = ehr.Errorf(ehr.NotFound, "the demo manifest was deleted")
	}
	if err != nil {
		return nil, err
	}
	res, err := fhir.Decode(rec.Resource)
	if err != nil {
		return nil, err
	}
	m := &Manifest{}
	for _, x := range fhir.Array(res, "extension") {
		ext, _ := x.(map[string]any)
		switch fhir.String(ext, "url") {
		case manifestSystem + ":people":
			n, _ := ext["valueInteger"].(json.Number)
			v, _ := n.Int64()
			m.People = int(v)
		case manifestSystem + ":seed":
			m.Seed, _ = strconv.ParseInt(fhir.String(ext, "valueString"), 10, 64)
		case manifestSystem + ":built":
			m.Built, _ = time.Parse(time.RFC3339, fhir.String(ext, "valueDateTime"))
		}
	}
	return m, nil
}

// NewPassword returns a random password for the demo users: 16 letters and
// digits in four groups (about 80 bits), easy to type from the screen.
func NewPassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789" // no 0/o, 1/l/i
	var s strings.Builder
	b := make([]byte, 1)
	for n := 0; n < 16; {
		rand.Read(b)
		// Bytes past the last whole multiple of the alphabet would favour its
		// first letters.
		if int(b[0]) >= 256/len(alphabet)*len(alphabet) {
			continue
		}
		if n > 0 && n%4 == 0 {
			s.WriteByte('-')
		}
		s.WriteByte(alphabet[int(b[0])%len(alphabet)])
		n++
	}
	return s.String()
}
