package mpi

import (
	"context"

	"omnichart/internal/ehr"
	"omnichart/internal/ingest"
)

// EnsureSource registers the MPI's source in the directory of sources, as
// every source is, unless it is there: the owner of the Persons and review
// tasks is then named and searchable like the EMR systems.
func EnsureSource(ctx context.Context, dir *ingest.Directory) error {
	if _, err := dir.Find(ctx, SourceURI); err == nil {
		return nil
	} else if ehr.ErrorCode(err) != ehr.NotFound {
		return err
	}
	_, err := dir.Add(ctx, ingest.Source{Slug: SourceSlug, URI: SourceURI, Name: "Omnichart master patient index",
		Vendor: "Omnichart", Product: "master patient index", Active: true})
	return err
}
