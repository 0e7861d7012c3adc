package directory

import (
	"context"
	"fmt"
	"sort"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
)

// Writer is what Load writes through: the service's transactions and searches
// (service.Service), under a principal allowed to write the directory.
type Writer interface {
	Apply(ctx context.Context, kind string, changes []ehr.Change, opts ehr.ApplyOptions) ([]ehr.Outcome, error)
	Search(ctx context.Context, q *search.Query) (*ehr.Page, error)
}

// Report says what a load changed, per resource type.
type Report struct {
	Added, Changed, Removed, Unchanged map[string]int
	// Withdrawn lists the CHPL product numbers whose certification was active
	// before the load and is not after it.
	Withdrawn []string
}

// Total is the number of resources added, changed and removed.
func (r *Report) Total() int {
	n := 0
	for _, m := range []map[string]int{r.Added, r.Changed, r.Removed} {
		for _, v := range m {
			n += v
		}
	}
	return n
}

// loadTypes are the types of the directory's resources, in the order they are
// written (search parameters first, referenced resources before those referring
// to them) and removed (the reverse).
var loadTypes = []string{"SearchParameter", "Organization", "DeviceDefinition", "Endpoint"}

// loadBatch is the number of changes written in one transaction: large enough to
// load the snapshot quickly, well under the entry limit of a Bundle.
const loadBatch = 2000

// Load makes the directory in the store what the snapshot says: it writes the
// resources that are new or differ from the stored ones and deletes the directory's
// resources the snapshot no longer has, in transactions of loadBatch changes, and
// reports what it did. Loading the same snapshot again changes nothing. Only
// resources whose meta.source is Source are compared and removed: what other
// sources wrote is never touched.
func Load(ctx context.Context, w Writer, s *Snapshot) (*Report, error) {
	want := Resources(s)
	// Everything is checked before anything is written, so that what the store
	// would refuse never leaves a load half done.
	for _, res := range want {
		if issues := fhir.R4().Validate(res); len(issues) > 0 {
			return nil, fmt.Errorf("%s/%s is not valid R4: %s", fhir.String(res, "resourceType"), fhir.String(res, "id"), issues[0].Diagnostics)
		}
	}
	rep := &Report{Added: map[string]int{}, Changed: map[string]int{}, Removed: map[string]int{}, Unchanged: map[string]int{}}
	stored := map[string]map[string][]byte{} // type -> id -> canonical JSON
	wasActive := map[string]string{}         // DeviceDefinition id -> CHPL number, of active products
	for _, typ := range loadTypes {
		m, err := storedResources(ctx, w, typ, func(res fhir.Resource) {
			if typ == "DeviceDefinition" && productStatus(res) == "Active" {
				wasActive[fhir.String(res, "id")] = productNumber(res)
			}
		})
		if err != nil {
			return nil, err
		}
		stored[typ] = m
	}
	byType := map[string][]ehr.Change{}
	kept := map[string]bool{}
	for _, res := range want {
		typ, id := fhir.String(res, "resourceType"), fhir.String(res, "id")
		kept[typ+"/"+id] = true
		body, err := canonical(res)
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", typ, id, err)
		}
		old, found := stored[typ][id]
		switch {
		case !found:
			rep.Added[typ]++
		case string(old) != string(body):
			rep.Changed[typ]++
		default:
			rep.Unchanged[typ]++
			continue
		}
		byType[typ] = append(byType[typ], ehr.Change{Method: "PUT", Type: typ, ID: id, Resource: res})
		if typ == "DeviceDefinition" && productStatus(res) != "Active" {
			if num, ok := wasActive[id]; ok {
				rep.Withdrawn = append(rep.Withdrawn, num)
			}
		}
	}
	var changes []ehr.Change
	for _, typ := range loadTypes {
		changes = append(changes, byType[typ]...)
	}
	for i := len(loadTypes) - 1; i >= 0; i-- {
		typ := loadTypes[i]
		ids := make([]string, 0)
		for id := range stored[typ] {
			if !kept[typ+"/"+id] {
				ids = append(ids, id)
			}
		}
		sort.Strings(ids)
		for _, id := range ids {
			rep.Removed[typ]++
			changes = append(changes, ehr.Change{Method: "DELETE", Type: typ, ID: id})
		}
	}
	sort.Strings(rep.Withdrawn)
	// The search parameters commit first, on their own: the store indexes what is
	// written after them by them.
	first := len(byType["SearchParameter"])
	for start := 0; start < len(changes); {
		end := min(start+loadBatch, len(changes))
		if start < first {
			end = first
		}
		batch := changes[start:end]
		if _, err := w.Apply(ctx, "transaction", batch, ehr.ApplyOptions{}); err != nil {
			return nil, fmt.Errorf("write the directory (changes %d to %d of %d): %w", start+1, end, len(changes), err)
		}
		start = end
	}
	return rep, nil
}

// storedResources returns the directory's stored resources of typ, by id, in
// canonical form, calling each on every one.
func storedResources(ctx context.Context, w Writer, typ string, each func(fhir.Resource)) (map[string][]byte, error) {
	// Every resource of typ is read and those of other sources skipped here: a
	// _source search reads the same rows, and pages through them more slowly.
	q, err := search.ParseString(typ, "_count=1000")
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for {
		page, err := w.Search(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("read the stored directory (%s): %w", typ, err)
		}
		for _, rec := range page.Records {
			res, err := fhir.Decode(rec.Resource)
			if err != nil {
				return nil, fmt.Errorf("read %s/%s: %w", typ, rec.ID, err)
			}
			if meta := fhir.Object(res, "meta"); fhir.String(meta, "source") != Source {
				continue
			}
			each(res)
			body, err := canonical(res)
			if err != nil {
				return nil, err
			}
			out[rec.ID] = body
		}
		if page.Next == "" {
			return out, nil
		}
		q.Cursor = page.Next
	}
}

// canonical is a resource's JSON without what the server sets on each write.
func canonical(res fhir.Resource) ([]byte, error) {
	c := make(fhir.Resource, len(res))
	for k, v := range res {
		c[k] = v
	}
	if meta, ok := res["meta"].(map[string]any); ok {
		m := make(map[string]any, len(meta))
		for k, v := range meta {
			if k != "versionId" && k != "lastUpdated" {
				m[k] = v
			}
		}
		c["meta"] = m
	}
	return fhir.Marshal(c)
}

func productStatus(res fhir.Resource) string {
	if codes := PropertyCodes(res, PropertyStatus); len(codes) > 0 {
		return codes[0]
	}
	return ""
}

// PropertyCodes returns the codes of the values of a product DeviceDefinition's
// property (PropertyStatus, PropertyInterfaces, ...), in order.
func PropertyCodes(res fhir.Resource, property string) []string {
	var out []string
	for _, p := range fhir.Array(res, "property") {
		pm, _ := p.(map[string]any)
		named := false
		for _, c := range fhir.Array(fhir.Object(pm, "type"), "coding") {
			cm, _ := c.(map[string]any)
			named = named || fhir.String(cm, "code") == property
		}
		if !named {
			continue
		}
		for _, v := range fhir.Array(pm, "valueCode") {
			vm, _ := v.(map[string]any)
			for _, c := range fhir.Array(vm, "coding") {
				cm, _ := c.(map[string]any)
				out = append(out, fhir.String(cm, "code"))
			}
		}
	}
	return out
}

func productNumber(res fhir.Resource) string {
	for _, id := range fhir.Array(res, "identifier") {
		if im, _ := id.(map[string]any); fhir.String(im, "system") == SystemProductNumber {
			return fhir.String(im, "value")
		}
	}
	return ""
}
