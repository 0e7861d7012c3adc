package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"log"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Bindings is the content of bindings.json: for every element with a required
// binding, the value set it is bound to, and for every such value set, its codes by
// code system.
type Bindings struct {
	Elements  map[string]string              `json:"elements"`
	ValueSets map[string]map[string][]string `json:"valueSets"`
}

type valueSet struct {
	URL     string `json:"url"`
	Compose struct {
		Include []include `json:"include"`
		Exclude []include `json:"exclude"`
	} `json:"compose"`
}

type include struct {
	System  string `json:"system"`
	Concept []struct {
		Code string `json:"code"`
	} `json:"concept"`
	Filter   []json.RawMessage `json:"filter"`
	ValueSet []string          `json:"valueSet"`
}

type codeSystem struct {
	URL     string    `json:"url"`
	Content string    `json:"content"`
	Concept []concept `json:"concept"`
}

type concept struct {
	Code    string    `json:"code"`
	Concept []concept `json:"concept"`
}

// bindable reports whether a required binding on an element of these types is
// checked: code elements, and Coding or CodeableConcept ones.
func bindable(types []string) bool {
	return len(types) == 1 && (types[0] == "code" || types[0] == "Coding" || types[0] == "CodeableConcept")
}

// maxPlainBytes is the size above which bindings.json is stored gzipped.
const maxPlainBytes = 300 << 10

// writeBindings expands the value sets of the required bindings in bound from the
// definitions and writes bindings.json (or bindings.json.gz when large). Bindings to
// value sets that cannot be expanded here (a code system the definitions do not
// hold in full, such as UCUM, BCP 13 or ISO 4217; a filter; an exclude; a value set
// that is missing) are left out and returned, sorted.
func writeBindings(defs, out string, bound map[string]string) (elements, valueSets int, skipped []string) {
	vss := map[string]*valueSet{}
	css := map[string]*codeSystem{}
	for _, f := range []string{"medplum/valuesets.json", "medplum/v3-codesystems.json"} {
		var b bundle
		mustRead(filepath.Join(defs, f), &b)
		for _, e := range b.Entry {
			var head struct {
				ResourceType string `json:"resourceType"`
				URL          string `json:"url"`
			}
			json.Unmarshal(e.Resource, &head)
			switch head.ResourceType {
			case "ValueSet":
				if vss[head.URL] == nil {
					var vs valueSet
					if err := json.Unmarshal(e.Resource, &vs); err != nil {
						log.Fatal(err)
					}
					vss[head.URL] = &vs
				}
			case "CodeSystem":
				if css[head.URL] == nil {
					var cs codeSystem
					if err := json.Unmarshal(e.Resource, &cs); err != nil {
						log.Fatal(err)
					}
					css[head.URL] = &cs
				}
			}
		}
	}
	var expand func(url string, depth int) (map[string][]string, bool)
	expand = func(url string, depth int) (map[string][]string, bool) {
		vs := vss[url]
		if vs == nil || depth > 5 || len(vs.Compose.Exclude) > 0 || len(vs.Compose.Include) == 0 {
			return nil, false
		}
		codes := map[string][]string{}
		for _, inc := range vs.Compose.Include {
			if len(inc.Filter) > 0 {
				return nil, false
			}
			for _, u := range inc.ValueSet {
				sub, ok := expand(stripVersion(u), depth+1)
				if !ok {
					return nil, false
				}
				for sys, cs := range sub {
					codes[sys] = append(codes[sys], cs...)
				}
			}
			switch {
			case len(inc.Concept) > 0:
				for _, c := range inc.Concept {
					codes[inc.System] = append(codes[inc.System], c.Code)
				}
			case inc.System != "":
				cs := css[inc.System]
				if cs == nil || cs.Content != "complete" {
					return nil, false
				}
				var walk func([]concept)
				walk = func(list []concept) {
					for _, c := range list {
						codes[inc.System] = append(codes[inc.System], c.Code)
						walk(c.Concept)
					}
				}
				walk(cs.Concept)
			}
		}
		// Keep the order of the definitions (male, female, other, unknown) for
		// messages; drop repeats.
		for sys, list := range codes {
			seen := map[string]bool{}
			codes[sys] = slices.DeleteFunc(list, func(c string) bool {
				dup := seen[c]
				seen[c] = true
				return dup
			})
		}
		return codes, true
	}
	b := Bindings{Elements: map[string]string{}, ValueSets: map[string]map[string][]string{}}
	bad := map[string]bool{}
	for path, url := range bound {
		if _, ok := b.ValueSets[url]; !ok && !bad[url] {
			if codes, ok := expand(url, 0); ok {
				b.ValueSets[url] = codes
			} else {
				bad[url] = true
			}
		}
		if !bad[url] {
			b.Elements[path] = url
		}
	}
	for url := range bad {
		skipped = append(skipped, url)
	}
	sort.Strings(skipped)
	data, err := json.Marshal(b)
	if err != nil {
		log.Fatal(err)
	}
	name := filepath.Join(out, "bindings.json")
	os.Remove(name)
	os.Remove(name + ".gz")
	if len(data) > maxPlainBytes {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(data)
		if err := zw.Close(); err != nil {
			log.Fatal(err)
		}
		data, name = buf.Bytes(), name+".gz"
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		log.Fatal(err)
	}
	return len(b.Elements), len(b.ValueSets), skipped
}

// stripVersion drops the "|4.0.1" of a versioned canonical URL.
func stripVersion(url string) string {
	url, _, _ = strings.Cut(url, "|")
	return url
}
