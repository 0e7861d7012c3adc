package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"

	"omnichart/internal/ehr"
	"omnichart/internal/mpi"
	"omnichart/internal/service"
)

// mpiHook passes the records every committed write of a Service wrote to the
// master patient index, once one is attached: Patients created, changed or
// deleted through the API, an import or MLLP are matched as they commit.
type mpiHook struct {
	ix atomic.Pointer[mpi.MPI]
	// models is where the index's model is kept: the store.
	models ehr.MatchModelStore
}

func (h *mpiHook) committed(ctx context.Context, recs []*ehr.Record) {
	if m := h.ix.Load(); m != nil {
		m.Committed(ctx, recs)
	}
}

// attach loads the index from the store (and writes what differs from it;
// the MPI registers its source before its first write) with the model saved
// there, and from then on matches every write of svc.
func (h *mpiHook) attach(ctx context.Context, svc *service.Service, log *slog.Logger) (*mpi.MPI, *mpi.Report, error) {
	m, rep, err := mpi.Open(adminContext(ctx), svc, mpi.Options{Log: log, Models: h.models})
	if err != nil {
		return nil, nil, fmt.Errorf("load the patient index: %w", err)
	}
	h.ix.Store(m)
	return m, rep, nil
}
