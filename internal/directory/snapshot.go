package directory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Snapshot is one Lantern snapshot: the certified products behind each published
// endpoint list, and the lists' endpoints.
type Snapshot struct {
	Products []Product
	Lists    []List
	// Missing are the endpoint files CHPLEndpointResourcesList.json names that the
	// snapshot does not hold (Lantern's folder leaves out the lists it could not
	// fetch); their lists have no endpoints.
	Missing []string
	// Notes say what was read other than as published: an endpoint URL without
	// its scheme (taken as https), an entry without any URL (left out).
	Notes []string
}

// Product is one certified product version (a CHPL listing).
type Product struct {
	ListingID         int    // CHPL listing id
	CHPLNumber        string // CHPL product number, e.g. 15.05.05.3121.ONEL.01.00.1.220823
	Edition           string // certification edition, e.g. 2015
	DeveloperID       int
	Developer         string
	ProductID         int
	Name              string
	VersionID         int
	Version           string
	CertificationDate string // YYYY-MM-DD
	Status            string // Active, Withdrawn by Developer, ...
	Criteria          []Criterion
	APIDocs           []APIDoc
	ACB               string // the certification body
	ListURL           string // the endpoint list the product is published with
}

// Active reports whether the product's certification is active.
func (p Product) Active() bool { return p.Status == "Active" }

// Criterion is one certification criterion met, e.g. "170.315 (g)(10)".
type Criterion struct {
	Number string
	Title  string
}

// APIDoc is the documentation URL a product gives for one criterion.
type APIDoc struct {
	Criterion string
	URL       string
}

// List is one developer's published list of endpoints.
type List struct {
	URL       string // the list's documentation URL, as products name it
	Developer string
	FileName  string
	Endpoints []Endpoint
}

// Endpoint is one published FHIR service base URL and the organization that runs it.
type Endpoint struct {
	URL              string
	OrganizationName string
	NPI              string
	ZIP              string
}

// Read parses the snapshot folder fsys (the files of Lantern's
// resources/prod_resources): CHPLProductsInfo.json, CHPLEndpointResourcesList.json
// and the *EndpointSources.json files it names. An error names the file and, for
// malformed JSON, the line and column.
func Read(fsys fs.FS) (*Snapshot, error) {
	var infos []struct {
		ListSourceURL    string `json:"listSourceURL"`
		SoftwareProducts []struct {
			ID                  int    `json:"id"`
			CHPLProductNumber   string `json:"chplProductNumber"`
			Edition             named  `json:"edition"`
			Developer           named  `json:"developer"`
			Product             named  `json:"product"`
			Version             named  `json:"version"`
			CertificationDate   string `json:"certificationDate"`
			CertificationStatus named  `json:"certificationStatus"`
			CriteriaMet         []struct {
				Number string `json:"number"`
				Title  string `json:"title"`
			} `json:"criteriaMet"`
			APIDocumentation []struct {
				Criterion struct {
					Number string `json:"number"`
				} `json:"criterion"`
				Value string `json:"value"`
			} `json:"apiDocumentation"`
			ACB string `json:"acb"`
		} `json:"softwareProducts"`
	}
	if err := readJSON(fsys, "CHPLProductsInfo.json", &infos); err != nil {
		return nil, err
	}
	s := &Snapshot{}
	seen := map[int]bool{}
	for _, info := range infos {
		for _, p := range info.SoftwareProducts {
			if p.ID == 0 || p.CHPLProductNumber == "" || p.Developer.Name == "" || p.Product.Name == "" {
				return nil, fmt.Errorf("CHPLProductsInfo.json: a product of the list %q lacks its id, CHPL product number, developer or name", info.ListSourceURL)
			}
			if seen[p.ID] {
				continue // one listing published with two lists
			}
			seen[p.ID] = true
			prod := Product{ListingID: p.ID, CHPLNumber: p.CHPLProductNumber, Edition: p.Edition.Name,
				DeveloperID: p.Developer.ID, Developer: p.Developer.Name, ProductID: p.Product.ID, Name: p.Product.Name,
				VersionID: p.Version.ID, Version: p.Version.Name, CertificationDate: p.CertificationDate,
				Status: p.CertificationStatus.Name, ACB: p.ACB, ListURL: info.ListSourceURL}
			for _, c := range p.CriteriaMet {
				prod.Criteria = append(prod.Criteria, Criterion{Number: c.Number, Title: c.Title})
			}
			sort.Slice(prod.Criteria, func(i, j int) bool { return criterionLess(prod.Criteria[i].Number, prod.Criteria[j].Number) })
			for _, d := range p.APIDocumentation {
				prod.APIDocs = append(prod.APIDocs, APIDoc{Criterion: d.Criterion.Number, URL: d.Value})
			}
			sort.Slice(prod.APIDocs, func(i, j int) bool { return criterionLess(prod.APIDocs[i].Criterion, prod.APIDocs[j].Criterion) })
			s.Products = append(s.Products, prod)
		}
	}
	sort.Slice(s.Products, func(i, j int) bool { return s.Products[i].ListingID < s.Products[j].ListingID })

	var lists []struct {
		URL          string `json:"URL"`
		EndpointName string `json:"EndpointName"`
		FileName     string `json:"FileName"`
	}
	if err := readJSON(fsys, "CHPLEndpointResourcesList.json", &lists); err != nil {
		return nil, err
	}
	for _, l := range lists {
		if l.FileName == "" || path.Base(l.FileName) != l.FileName || !strings.HasSuffix(l.FileName, ".json") {
			return nil, fmt.Errorf("CHPLEndpointResourcesList.json: the list of %q names no endpoint file, or not a plain JSON file name (%q)", l.EndpointName, l.FileName)
		}
		list := List{URL: l.URL, Developer: l.EndpointName, FileName: l.FileName}
		eps, notes, err := readEndpoints(fsys, l.FileName)
		s.Notes = append(s.Notes, notes...)
		if errors.Is(err, fs.ErrNotExist) {
			s.Missing = append(s.Missing, l.FileName)
			err = nil
		}
		if err != nil {
			return nil, err
		}
		list.Endpoints = eps
		s.Lists = append(s.Lists, list)
	}
	return s, nil
}

// named is CHPL's {"id": …, "name": …}.
type named struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// readEndpoints reads one *EndpointSources.json file. An empty file is a list of
// no endpoints, as Lantern publishes some.
func readEndpoints(fsys fs.FS, name string) (eps []Endpoint, notes []string, err error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, nil
	}
	var file struct {
		Endpoints []struct {
			URL              string `json:"URL"`
			OrganizationName string `json:"OrganizationName"`
			NPIID            string `json:"NPIID"`
			ZIP              string `json:"OrganizationZipCode"`
		} `json:"Endpoints"`
	}
	if err := decodeJSON(name, data, &file); err != nil {
		return nil, nil, err
	}
	eps = make([]Endpoint, 0, len(file.Endpoints))
	for i, e := range file.Endpoints {
		url := strings.TrimSpace(e.URL)
		switch {
		case url == "":
			notes = append(notes, fmt.Sprintf("%s: endpoint %d has no URL and is left out", name, i))
			continue
		case strings.Contains(url, "://"):
			if !strings.HasPrefix(strings.ToLower(url), "https://") && !strings.HasPrefix(strings.ToLower(url), "http://") {
				notes = append(notes, fmt.Sprintf("%s: endpoint %d is not an http(s) URL (%q) and is left out", name, i, url))
				continue
			}
		default:
			notes = append(notes, fmt.Sprintf("%s: endpoint %d has no scheme (%q); read as https://", name, i, url))
			url = "https://" + url
		}
		eps = append(eps, Endpoint{URL: url, OrganizationName: strings.TrimSpace(e.OrganizationName),
			NPI: strings.TrimSpace(e.NPIID), ZIP: strings.TrimSpace(e.ZIP)})
	}
	return eps, notes, nil
}

func readJSON(fsys fs.FS, name string, v any) error {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return decodeJSON(name, data, v)
}

// decodeJSON decodes data into v, refusing trailing data, and names the file and
// the line and column of a syntax or type error.
func decodeJSON(name string, data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			return fmt.Errorf("%s: unexpected data after the JSON value", name)
		}
		return nil
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		// Offset counts the offending byte; the position is that byte's own.
		line, col := position(data, max(syn.Offset-1, 0))
		return fmt.Errorf("%s: line %d, column %d: %v", name, line, col, syn)
	case errors.As(err, &typ):
		line, col := position(data, typ.Offset)
		return fmt.Errorf("%s: line %d, column %d: %s holds a %s where a %s belongs", name, line, col, typ.Field, typ.Value, typ.Type)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		line, col := position(data, int64(len(data)))
		return fmt.Errorf("%s: line %d, column %d: the file ends before its JSON does (truncated?)", name, line, col)
	}
	return fmt.Errorf("%s: %w", name, err)
}

func position(data []byte, offset int64) (line, col int) {
	line, col = 1, 1
	for _, b := range data[:min(int(offset), len(data))] {
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// criterionLess orders criteria as the regulation does: (a)(2) before (a)(10).
func criterionLess(a, b string) bool {
	ka, kb := criterionKey(a), criterionKey(b)
	if ka != kb {
		return ka < kb
	}
	return a < b
}

// criterionKey pads the numbers of "170.315 (b)(10)" so that they sort as numbers.
func criterionKey(s string) string {
	var out strings.Builder
	num := ""
	flush := func() {
		if num != "" {
			out.WriteString(strings.Repeat("0", max(0, 4-len(num))) + num)
			num = ""
		}
	}
	for _, r := range s {
		if r >= '0' && r <= '9' {
			num += string(r)
			continue
		}
		flush()
		out.WriteRune(r)
	}
	flush()
	return out.String()
}
