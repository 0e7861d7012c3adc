// Command gen distils the official FHIR R4 definitions into the compact tables that
// package r4 embeds: the element model of every type, the search parameters, the
// Patient compartment and the codes of every required value-set binding that the
// definitions can expand. It reads ../shared/testdata, which holds the unmodified HL7 files
// (and the Medplum copy of profiles-resources.json, the only full resource bundle there).
//
// Run it with `go generate ./internal/fhir/r4` from the project root.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type bundle struct {
	Entry []struct {
		Resource json.RawMessage `json:"resource"`
	} `json:"entry"`
}

type structureDefinition struct {
	ResourceType   string `json:"resourceType"`
	FHIRVersion    string `json:"fhirVersion"`
	Name           string `json:"name"`
	Type           string `json:"type"`
	Kind           string `json:"kind"`
	Abstract       bool   `json:"abstract"`
	Derivation     string `json:"derivation"`
	BaseDefinition string `json:"baseDefinition"`
	Snapshot       struct {
		Element []struct {
			Path             string `json:"path"`
			Min              int    `json:"min"`
			Max              string `json:"max"`
			ContentReference string `json:"contentReference"`
			IsSummary        bool   `json:"isSummary"`
			Type             []struct {
				Code string `json:"code"`
			} `json:"type"`
			Binding struct {
				Strength string `json:"strength"`
				ValueSet string `json:"valueSet"`
			} `json:"binding"`
		} `json:"element"`
	} `json:"snapshot"`
}

// Type is one FHIR type in the generated model.
type Type struct {
	Kind     string              `json:"kind"`
	Abstract bool                `json:"abstract,omitempty"`
	Base     string              `json:"base,omitempty"`
	Elements map[string]*Element `json:"elements,omitempty"`
}

// Element is one element path of a type, e.g. "Observation.referenceRange.low".
type Element struct {
	Min   int      `json:"min,omitempty"`
	Many  bool     `json:"many,omitempty"`
	Types []string `json:"types,omitempty"`
	Ref   string   `json:"ref,omitempty"`
	// Summary marks elements that _summary=true keeps.
	Summary bool `json:"summary,omitempty"`
}

func main() {
	defs := flag.String("defs", "../../../../shared/testdata/fhir-r4-definitions", "definitions folder")
	out := flag.String("out", ".", "output folder")
	flag.Parse()

	model := map[string]*Type{}
	// Element path -> value set URL of required bindings, by type, so that a type
	// defined in both files keeps the bindings of the one that wins.
	bound := map[string]map[string]string{}
	for _, f := range []string{"official-hl7.fhir.r4.examples/profiles-types.json", "medplum/profiles-resources.json"} {
		var b bundle
		mustRead(filepath.Join(*defs, f), &b)
		for _, e := range b.Entry {
			var head struct {
				ResourceType string `json:"resourceType"`
			}
			if json.Unmarshal(e.Resource, &head); head.ResourceType != "StructureDefinition" {
				continue
			}
			var sd structureDefinition
			if err := json.Unmarshal(e.Resource, &sd); err != nil {
				log.Fatal(err)
			}
			// The Medplum bundle adds R4B resources (SubscriptionStatus); R4 is 4.0.1 only.
			if sd.ResourceType != "StructureDefinition" || sd.Derivation == "constraint" || (sd.FHIRVersion != "" && sd.FHIRVersion != "4.0.1") {
				continue
			}
			t := &Type{Kind: sd.Kind, Abstract: sd.Abstract, Base: strings.TrimPrefix(sd.BaseDefinition, "http://hl7.org/fhir/StructureDefinition/"), Elements: map[string]*Element{}}
			b := map[string]string{}
			for i, el := range sd.Snapshot.Element {
				if i == 0 {
					continue
				}
				x := &Element{Min: el.Min, Many: el.Max != "1" && el.Max != "0", Ref: strings.TrimPrefix(el.ContentReference, "#"), Summary: el.IsSummary}
				for _, ty := range el.Type {
					code := ty.Code
					if strings.HasPrefix(code, "http://hl7.org/fhirpath/System.") {
						code = "System." + strings.TrimPrefix(code, "http://hl7.org/fhirpath/System.")
					}
					x.Types = append(x.Types, code)
				}
				if el.Max == "0" {
					continue
				}
				t.Elements[el.Path] = x
				if el.Binding.Strength == "required" && bindable(x.Types) {
					b[el.Path] = stripVersion(el.Binding.ValueSet)
				}
			}
			model[sd.Name] = t
			bound[sd.Name] = b
		}
	}
	mustWrite(filepath.Join(*out, "types.json"), model)
	allBound := map[string]string{}
	for _, b := range bound {
		maps.Copy(allBound, b)
	}
	nb, nvs, skipped := writeBindings(*defs, *out, allBound)

	var sps bundle
	mustRead(filepath.Join(*defs, "official-hl7.fhir.r4.examples/search-parameters.json"), &sps)
	type component struct {
		Definition string `json:"definition"`
		Expression string `json:"expression"`
	}
	type searchParameter struct {
		URL        string      `json:"url"`
		Code       string      `json:"code"`
		Base       []string    `json:"base"`
		Type       string      `json:"type"`
		Expression string      `json:"expression,omitempty"`
		Target     []string    `json:"target,omitempty"`
		Modifier   []string    `json:"modifier,omitempty"`
		Comparator []string    `json:"comparator,omitempty"`
		Chain      []string    `json:"chain,omitempty"`
		Component  []component `json:"component,omitempty"`
	}
	var params []searchParameter
	for _, e := range sps.Entry {
		var sp searchParameter
		if err := json.Unmarshal(e.Resource, &sp); err != nil {
			log.Fatal(err)
		}
		params = append(params, sp)
	}
	sort.Slice(params, func(i, j int) bool { return params[i].URL < params[j].URL })
	mustWrite(filepath.Join(*out, "searchparameters.json"), params)

	var cd struct {
		Resource []struct {
			Code  string   `json:"code"`
			Param []string `json:"param"`
		} `json:"resource"`
	}
	mustRead(filepath.Join(*defs, "official-hl7.fhir.r4.examples/compartmentdefinition-patient.json"), &cd)
	comp := map[string][]string{}
	for _, r := range cd.Resource {
		if len(r.Param) > 0 {
			comp[r.Code] = r.Param
		}
	}
	mustWrite(filepath.Join(*out, "compartment_patient.json"), comp)
	fmt.Printf("%d types, %d search parameters, %d compartment resource types, %d required bindings over %d value sets\n",
		len(model), len(params), len(comp), nb, nvs)
	fmt.Printf("required value sets that cannot be expanded from the definitions, not checked: %s\n", strings.Join(skipped, ", "))
}

func mustRead(path string, v any) {
	b, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		log.Fatalf("%s: %v", path, err)
	}
}

func mustWrite(path string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		log.Fatal(err)
	}
}
