package mpi

import (
	"context"
	"sort"

	"omnichart/internal/ehr"
)

// write is one change sync makes to the MPI's stored records.
type write struct {
	change ehr.Change
	// done keeps the mirror in step once the change is committed; line
	// names it in the report.
	done func()
	line string
	// patient is the id of the Patient whose compartment the record is kept
	// in (a Person's first link, a task's first record), the order writes
	// are made in.
	patient string
}

// writeChunk bounds the writes of one transaction of a large rematch;
// writesInFlight is how many such transactions are under way at once.
const (
	writeChunk     = 1000
	writesInFlight = 2
)

// apply writes in transactions of at most m.chunk changes, and keeps the
// mirror and the report in step with what each committed.
//
// Writes are made in the order of the compartments they land in. A Person or
// task is kept in its first Patient's compartment, which leads the primary
// key of every table it is written to, and Patient ids are made in time
// order: in that order the writes of one transaction fill neighbouring pages
// of each table, where in the order of the Persons' ids (a hash) each one
// lands on a page of its own among the Patients' rows, and the transaction
// commits, and SQLite checkpoints, as many pages as it has writes.
//
// Two transactions are under way at once: while one holds the store's
// writer, the engine validates, encodes and indexes the next one's records,
// which needs no lock. The chunks write different records, so their order
// of commit does not matter; after a failure no further chunk is started,
// and the mirror takes what the others committed.
func (m *MPI) apply(ctx context.Context, writes []write, rep *Report) error {
	sort.SliceStable(writes, func(i, j int) bool { return writes[i].patient < writes[j].patient })
	mctx := asMPI(ctx)
	var chunks [][]write
	for start := 0; start < len(writes); start += m.chunk {
		chunks = append(chunks, writes[start:min(start+m.chunk, len(writes))])
	}
	started := make([]chan error, len(chunks))
	start := func(i int) {
		changes := make([]ehr.Change, len(chunks[i]))
		for k, wr := range chunks[i] {
			changes[k] = wr.change
		}
		done := make(chan error, 1)
		started[i] = done
		if len(chunks) == 1 {
			// One transaction (every incremental change): nothing to overlap.
			_, err := m.eng.Apply(mctx, "transaction", changes, ehr.ApplyOptions{})
			done <- err
			return
		}
		go func() {
			_, err := m.eng.Apply(mctx, "transaction", changes, ehr.ApplyOptions{})
			done <- err
		}()
	}
	var first error
	next := 0
	for i := range chunks {
		for ; first == nil && next < len(chunks) && next < i+writesInFlight; next++ {
			start(next)
		}
		if started[i] == nil {
			break // not started after a failure
		}
		if err := <-started[i]; err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		for _, wr := range chunks[i] {
			wr.done()
			if rep != nil {
				rep.Changes = append(rep.Changes, wr.line)
			}
		}
	}
	return first
}

// firstPatient is the Patient of a Person's first link, whose compartment
// the Person is kept in; "" for a Person without links.
func firstPatient(links []link) string {
	if len(links) == 0 {
		return ""
	}
	return links[0].Patient
}
