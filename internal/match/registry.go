package match

import (
	"sort"
	"strings"
)

// IdentifierKind says how the identifiers of one system are compared.
type IdentifierKind int

// The kinds of identifier system.
const (
	// Local identifiers are numbers one assigning authority gives its own
	// records (an MRN, a clinic's account number). They are compared only with
	// identifiers of the same namespace: two different values say the
	// authority holds two records, a shared value that it holds one.
	Local IdentifierKind = iota
	// Strong identifiers are numbers one authority gives a person for all
	// record keepers (a Social Security, national health or payer member
	// number): a shared value weighs strongly for a match, two different
	// values strongly against.
	Strong
	// Ignored identifiers are not compared (a system known to be reused for
	// other things, such as an account number that changes per visit).
	Ignored
)

// The identifier systems the matcher knows without configuration.
const (
	SSNSystem = "http://hl7.org/fhir/sid/us-ssn"
	// MBISystem is the Medicare Beneficiary Identifier.
	MBISystem = "http://hl7.org/fhir/sid/us-mbi"
)

// IdentifierSystem is one entry of a Registry.
type IdentifierSystem struct {
	// System is the identifier system URI as Identifier.system carries it.
	System string
	Kind   IdentifierKind
	// PerSource says that each source assigns the system's values on its own,
	// so that only identifiers of one source are compared: for the default
	// OID an EMR product ships with, which several hospitals then send.
	PerSource bool
	// Source is the source (URI) that assigns the system's values, when
	// known; it documents the registry and is shown in explanations.
	Source string
}

// Registry says, per identifier system, whether and how its identifiers are
// compared. A system it does not list is Local, its own namespace: one
// hospital's MRN system is another namespace than another hospital's, so
// their numbers are never compared. An identifier without a system belongs to
// its source and type code (an MRN without a system is compared only with
// MRNs of the same source), except one typed SS (v2-0203), which is an SSN. A
// Registry is read-only once made and safe for concurrent use.
type Registry struct {
	systems map[string]IdentifierSystem
}

// NewRegistry returns a registry of the default strong systems (SSN, MBI)
// and systems, which override the defaults when they name the same system.
func NewRegistry(systems ...IdentifierSystem) *Registry {
	r := &Registry{systems: map[string]IdentifierSystem{
		SSNSystem: {System: SSNSystem, Kind: Strong},
		MBISystem: {System: MBISystem, Kind: Strong},
	}}
	for _, s := range systems {
		r.systems[s.System] = s
	}
	return r
}

// Systems returns the registered systems, sorted by URI.
func (r *Registry) Systems() []IdentifierSystem {
	out := make([]IdentifierSystem, 0, len(r.systems))
	for _, s := range r.systems {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].System < out[j].System })
	return out
}

// Lookup returns the entry of system, and a Local entry for a system the
// registry does not list.
func (r *Registry) Lookup(system string) IdentifierSystem {
	if s, ok := r.systems[system]; ok {
		return s
	}
	return IdentifierSystem{System: system, Kind: Local}
}

// identifier is one identifier of a record, ready to compare: its namespace
// (the system, or source and system or type when the system is not
// enough), its kind and its normalised value.
type identifier struct {
	namespace string
	kind      IdentifierKind
	value     string
}

// classify turns a Patient.identifier of a record of source into the form it
// is compared in. It returns false for an identifier that is not compared:
// ignored, without a value, or a placeholder SSN.
func (r *Registry) classify(source, system, typeCode, value string) (identifier, bool) {
	if system == "" && typeCode == "SS" {
		system = SSNSystem
	}
	if system == "" {
		if typeCode == "" {
			typeCode = "?"
		}
		id := identifier{namespace: source + "|" + typeCode, kind: Local, value: NormalizeIdentifier(value)}
		return id, id.value != ""
	}
	s := r.Lookup(system)
	id := identifier{namespace: system, kind: s.Kind, value: NormalizeIdentifier(value)}
	if s.PerSource {
		id.namespace = source + "|" + system
	}
	if system == SSNSystem {
		id.value = NormalizeSSN(value)
	}
	if strings.HasPrefix(id.value, "UNKNOWN") || id.kind == Ignored {
		return id, false
	}
	return id, id.value != ""
}
