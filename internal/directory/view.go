package directory

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
)

// Searcher is what the directory's questions read through: the interaction
// engine's search (service.Service), under the caller's principal and scope.
type Searcher interface {
	Search(ctx context.Context, q *search.Query) (*ehr.Page, error)
}

// ProductView is a certified product as the directory pages show it.
type ProductView struct {
	ID                string // the DeviceDefinition id
	Name, Version     string
	Developer         string
	DeveloperID       string // the developer's Organization id
	CHPLNumber        string
	Status            string
	CertificationDate string
	Edition           string
	Criteria          []CriterionView
	Interfaces        []Interface
	// Documentation are the API documentation links, by criterion.
	Documentation []APIDoc
	ListURL       string
}

// CriterionView is a criterion a product meets, with what it means.
type CriterionView struct {
	Number, Title, Words string
}

// Meets reports whether the product meets criterion number.
func (p ProductView) Meets(number string) bool {
	return slices.ContainsFunc(p.Criteria, func(c CriterionView) bool { return c.Number == number })
}

// productView reads a product's DeviceDefinition.
func productView(res fhir.Resource) ProductView {
	p := ProductView{ID: fhir.String(res, "id"), ListURL: fhir.String(res, "onlineInformation")}
	for _, n := range fhir.Array(res, "deviceName") {
		if m, ok := n.(map[string]any); ok && p.Name == "" {
			p.Name = fhir.String(m, "name")
		}
	}
	if v := fhir.Array(res, "version"); len(v) > 0 {
		p.Version, _ = v[0].(string)
	}
	dev := fhir.Object(res, "manufacturerReference")
	p.Developer = fhir.String(dev, "display")
	p.DeveloperID = strings.TrimPrefix(fhir.String(dev, "reference"), "Organization/")
	for _, id := range fhir.Array(res, "identifier") {
		if m, ok := id.(map[string]any); ok && fhir.String(m, "system") == SystemProductNumber {
			p.CHPLNumber = fhir.String(m, "value")
		}
	}
	if s := PropertyCodes(res, PropertyStatus); len(s) > 0 {
		p.Status = s[0]
	}
	for _, prop := range fhir.Array(res, "property") {
		pm, _ := prop.(map[string]any)
		code := ""
		for _, c := range fhir.Array(fhir.Object(pm, "type"), "coding") {
			code = fhir.String(c.(map[string]any), "code")
		}
		for _, v := range fhir.Array(pm, "valueCode") {
			vm, _ := v.(map[string]any)
			if code == PropertyEdition {
				p.Edition = fhir.String(vm, "text")
			}
			for _, c := range fhir.Array(vm, "coding") {
				cm, _ := c.(map[string]any)
				switch code {
				case PropertyCriteria:
					n := fhir.String(cm, "code")
					p.Criteria = append(p.Criteria, CriterionView{Number: n, Title: fhir.String(cm, "display"), Words: CriterionWords(n)})
				case PropertyInterfaces:
					for _, in := range Interfaces {
						if in.Code == fhir.String(cm, "code") {
							p.Interfaces = append(p.Interfaces, in)
						}
					}
				}
			}
		}
	}
	for _, e := range fhir.Array(res, "extension") {
		em, _ := e.(map[string]any)
		switch fhir.String(em, "url") {
		case ExtCertificationDate:
			p.CertificationDate = fhir.String(em, "valueDate")
		case ExtAPIDocumentation:
			var d APIDoc
			for _, sub := range fhir.Array(em, "extension") {
				sm, _ := sub.(map[string]any)
				switch fhir.String(sm, "url") {
				case "criterion":
					d.Criterion = fhir.String(fhir.Object(sm, "valueCoding"), "code")
				case "documentation":
					d.URL = fhir.String(sm, "valueUrl")
				}
			}
			p.Documentation = append(p.Documentation, d)
		}
	}
	sort.Slice(p.Criteria, func(i, j int) bool { return criterionLess(p.Criteria[i].Number, p.Criteria[j].Number) })
	return p
}

// ProductQuery asks which products meet every one of Criteria, of a developer
// whose name contains Developer, with a certification status (Status, "" for
// any), newest certification first or by name.
type ProductQuery struct {
	Criteria  []string
	Developer string
	Status    string
	ByName    bool
	Count     int
	// Cursor continues a previous page (ProductPage.Next).
	Cursor string
}

// ProductPage is one page of products.
type ProductPage struct {
	Products []ProductView
	Total    int
	Next     string
}

// FindProducts answers a ProductQuery with one search of DeviceDefinition.
func FindProducts(ctx context.Context, s Searcher, pq ProductQuery) (*ProductPage, error) {
	v := url.Values{}
	for _, c := range pq.Criteria {
		v.Add("criterion", c)
	}
	if pq.Developer != "" {
		v.Set("developer-name:contains", pq.Developer)
	}
	if pq.Status != "" {
		v.Set("certification-status", pq.Status)
	}
	if pq.ByName {
		v.Set("_sort", "product-name")
	} else {
		v.Set("_sort", "-certification-date,product-name")
	}
	v.Set("_total", "accurate")
	q, err := search.Parse("DeviceDefinition", v)
	if err != nil {
		return nil, ehr.Errorf(ehr.Invalid, "%v", err)
	}
	q.Strict = true
	q.Count = pq.Count
	if q.Count <= 0 {
		q.Count = 50
	}
	q.Cursor = pq.Cursor
	page, err := s.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	out := &ProductPage{Total: page.Total, Next: page.Next}
	for _, rec := range page.Records {
		res, err := fhir.Decode(rec.Resource)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", rec.Reference(), err)
		}
		out.Products = append(out.Products, productView(res))
	}
	return out, nil
}

// FindProduct reads one product.
func FindProduct(ctx context.Context, s Searcher, id string) (ProductView, error) {
	page, err := s.Search(ctx, &search.Query{Type: "DeviceDefinition", Strict: true, Count: 1,
		Params: []search.Param{{Name: "_id", Values: []string{id}}}})
	if err != nil {
		return ProductView{}, err
	}
	if len(page.Records) == 0 {
		return ProductView{}, ehr.Errorf(ehr.NotFound, "DeviceDefinition/%s is not known", id)
	}
	res, err := fhir.Decode(page.Records[0].Resource)
	if err != nil {
		return ProductView{}, err
	}
	return productView(res), nil
}

// EndpointView is a published FHIR endpoint with the organization that runs it.
type EndpointView struct {
	ID, Address, FHIRVersion string
	Organization             string
	OrganizationID           string
	ZIP                      string
}

// EndpointPage is one page of endpoints.
type EndpointPage struct {
	Endpoints []EndpointView
	Total     int
	Next      string
}

// ProductEndpoints lists, a page at a time, the endpoints published for product
// id, with their organizations (one search with _include).
func ProductEndpoints(ctx context.Context, s Searcher, id string, count int, cursor string) (*EndpointPage, error) {
	if count <= 0 {
		count = 50
	}
	q, err := search.ParseString("Endpoint", "product=DeviceDefinition/"+url.QueryEscape(id)+"&_include=Endpoint:organization&_sort=name&_total=accurate")
	if err != nil {
		return nil, ehr.Errorf(ehr.Invalid, "%v", err)
	}
	q.Strict, q.Count, q.Cursor = true, count, cursor
	page, err := s.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	orgs := map[string]fhir.Resource{}
	for _, rec := range page.Included {
		if rec.Type == "Organization" {
			if res, err := fhir.Decode(rec.Resource); err == nil {
				orgs[rec.ID] = res
			}
		}
	}
	out := &EndpointPage{Total: page.Total, Next: page.Next}
	for _, rec := range page.Records {
		res, err := fhir.Decode(rec.Resource)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", rec.Reference(), err)
		}
		e := EndpointView{ID: rec.ID, Address: fhir.String(res, "address"), Organization: fhir.String(res, "name")}
		for _, m := range fhir.Array(res, "payloadMimeType") {
			if s, ok := m.(string); ok {
				if _, v, ok := strings.Cut(s, "fhirVersion="); ok {
					e.FHIRVersion = v
				}
			}
		}
		if org := strings.TrimPrefix(fhir.String(fhir.Object(res, "managingOrganization"), "reference"), "Organization/"); org != "" {
			e.OrganizationID = org
			if o, ok := orgs[org]; ok {
				e.Organization = fhir.String(o, "name")
				for _, a := range fhir.Array(o, "address") {
					if am, ok := a.(map[string]any); ok {
						e.ZIP = fhir.String(am, "postalCode")
					}
				}
			}
		}
		out.Endpoints = append(out.Endpoints, e)
	}
	return out, nil
}

// Comparison is two or more products side by side, criterion by criterion.
type Comparison struct {
	Products []ProductView
	Rows     []ComparisonRow
}

// ComparisonRow is one criterion: what it means and which products meet it.
type ComparisonRow struct {
	Criterion CriterionView
	Meets     []bool // in the order of Comparison.Products
}

// Compare reads products ids (two or three) and lines their criteria up: every
// criterion any of them meets, in the regulation's order.
func Compare(ctx context.Context, s Searcher, ids []string) (*Comparison, error) {
	if len(ids) < 2 || len(ids) > 3 {
		return nil, ehr.Errorf(ehr.Invalid, "compare two or three products, not %d", len(ids))
	}
	c := &Comparison{}
	all := map[string]CriterionView{}
	for _, id := range ids {
		p, err := FindProduct(ctx, s, id)
		if err != nil {
			return nil, err
		}
		c.Products = append(c.Products, p)
		for _, cr := range p.Criteria {
			all[cr.Number] = cr
		}
	}
	numbers := make([]string, 0, len(all))
	for n := range all {
		numbers = append(numbers, n)
	}
	sort.Slice(numbers, func(i, j int) bool { return criterionLess(numbers[i], numbers[j]) })
	for _, n := range numbers {
		row := ComparisonRow{Criterion: all[n]}
		for _, p := range c.Products {
			row.Meets = append(row.Meets, p.Meets(n))
		}
		c.Rows = append(c.Rows, row)
	}
	return c, nil
}
