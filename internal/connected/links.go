package connected

import (
	"context"
	"strings"

	"omnichart/internal/directory"
	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/ingest"
)

// ResolveDirectoryLinks checks the places in the EMR directory that a source
// being registered names, and writes them in canonical form: the product as
// DeviceDefinition/ID (given as that, as a CHPL product number, a CHPL listing
// id or the resource id), the endpoint as Endpoint/ID. The product's developer
// and name fill the source's vendor and product when they are empty. A source
// whose product is not in the directory is registered without these links.
func ResolveDirectoryLinks(ctx context.Context, t ingest.Target, src *ingest.Source) error {
	if v := strings.TrimSpace(src.DirectoryProduct); v != "" {
		query := ""
		switch {
		case strings.HasPrefix(v, "DeviceDefinition/"):
			query = "_id=" + strings.TrimPrefix(v, "DeviceDefinition/")
		case strings.Count(v, ".") >= 5:
			query = "identifier=" + directory.SystemProductNumber + "|" + v
		case strings.HasPrefix(v, "chpl-"):
			query = "_id=" + v
		default:
			query = "identifier=" + directory.SystemListing + "|" + v
		}
		found, err := t.Search(ctx, "DeviceDefinition", query, 2)
		if err != nil {
			return err
		}
		if len(found) != 1 {
			return ehr.Errorf(ehr.Invalid, "the directory product %q is not a product of the EMR directory (load it with omnichart directory load, or leave it out)", v)
		}
		prod := found[0]
		src.DirectoryProduct = "DeviceDefinition/" + fhir.String(prod, "id")
		if src.Vendor == "" {
			src.Vendor = fhir.String(fhir.Object(prod, "manufacturerReference"), "display")
		}
		if names := fhir.Array(prod, "deviceName"); src.Product == "" && len(names) > 0 {
			n, _ := names[0].(map[string]any)
			src.Product = fhir.String(n, "name")
		}
	}
	if v := strings.TrimSpace(src.DirectoryEndpoint); v != "" {
		id, ok := strings.CutPrefix(v, "Endpoint/")
		if !ok || !fhir.ValidID(id) {
			return ehr.Errorf(ehr.Invalid, "the directory endpoint %q: give Endpoint/ID of the EMR directory", v)
		}
		if _, err := t.Read(ctx, "Endpoint", id); err != nil {
			if code := ehr.ErrorCode(err); code != ehr.NotFound && code != ehr.Gone {
				return err
			}
			return ehr.Errorf(ehr.Invalid, "the directory endpoint %q is not an endpoint of the EMR directory", v)
		}
		src.DirectoryEndpoint = v
	}
	return nil
}
