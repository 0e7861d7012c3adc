package ingest

import (
	"omnichart/internal/fhir"
	"omnichart/internal/ingest/ccda"
)

// convertCCDA is the default C-CDA converter: ccda.Convert with the importer's
// clock and ids.
func (im *Importer) convertCCDA(data []byte) (fhir.Resource, []fhir.Issue, error) {
	res, err := ccda.Convert(data, ccda.Options{NewID: im.opts.NewID, Now: im.opts.Now, MaxDocumentBytes: im.opts.Limits.MaxDocumentBytes})
	if err != nil {
		return nil, res.Issues, err
	}
	return res.Bundle, res.Issues, nil
}
