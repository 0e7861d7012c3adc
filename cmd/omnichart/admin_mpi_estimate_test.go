package main_test

import (
	"context"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"omnichart/internal/ehrtest"
	"omnichart/internal/service"
	"omnichart/internal/store"
	"omnichart/internal/store/sqlite"
)

// TestAdminMPIEstimate runs `admin mpi estimate` on an empty store (printed,
// not saved, with the minimum), then on the Patients of a generated
// population: the estimate is printed beside the default model, saved with
// --save, and the next rematch scores with it and says so.
func TestAdminMPIEstimate(t *testing.T) {
	work := t.TempDir()
	path := filepath.Join(work, "o.db")
	db := "sqlite:" + path
	out, code := omnichart(t, work, "admin", "mpi", "estimate", "--db", db, "--save", "--by", "user/tester")
	if code == 0 || !strings.Contains(out, "not saved: only 0 pairs") || !strings.Contains(out, "at least 1000 are needed, because") {
		t.Fatalf("estimate --save on an empty store exited %d:\n%s\nwant a refusal with the minimum and why", code, out)
	}
	if out, code := omnichart(t, work, "admin", "mpi", "estimate", "--db", db, "--save"); code == 0 || !strings.Contains(out, "--by") {
		t.Errorf("estimate --save without --by exited %d:\n%s\nwant a refusal asking for --by", code, out)
	}

	pop := ehrtest.GeneratePatients(t, "hard", 300, 5)
	st, err := sqlite.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pop.WritePatients(t, service.New(st, service.Options{}))
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	patients := strconv.Itoa(len(pop.Patients))
	if out, code := omnichart(t, work, "admin", "mpi", "rematch", "--db", db); code != 0 || !strings.Contains(out, "scored with the default model (none saved)") ||
		!strings.Contains(out, patients+" patients") {
		t.Fatalf("first rematch exited %d:\n%s\nwant %s patients scored with the default model", code, out, patients)
	}
	out, code = omnichart(t, work, "admin", "mpi", "estimate", "--db", db)
	if code != 0 || !strings.Contains(out, "estimated from "+patients+" patients") || !strings.Contains(out, "EM converged") ||
		!strings.Contains(out, "in use: the default model") || !strings.Contains(out, "not saved: --save --by WHO") {
		t.Fatalf("estimate exited %d:\n%s\nwant a converged estimate beside the default model, not saved", code, out)
	}
	// The printed estimate agrees with a fact of the data: records of one
	// person share the birth date far more often than records of two.
	row := regexp.MustCompile(`(?m)^\s*birthDate\s+exact\s+([0-9.]+)\s+([0-9.]+)\s+([+-][0-9.]+)\s+([0-9.]+)\s+([0-9.]+)`).FindStringSubmatch(out)
	if row == nil {
		t.Fatalf("no birthDate exact row in:\n%s", out)
	}
	m, _ := strconv.ParseFloat(row[1], 64)
	u, _ := strconv.ParseFloat(row[2], 64)
	if !(m > 0.5 && u < 0.5) {
		t.Errorf("estimated birthDate exact: m %v u %v, want m above 0.5 and u below it", m, u)
	}
	if row[4] != "0.9600" {
		t.Errorf("birthDate exact m in use printed as %s, want the default's 0.9600", row[4])
	}

	out, code = omnichart(t, work, "admin", "mpi", "estimate", "--db", db, "--save", "--by", "user/tester")
	saved := regexp.MustCompile(`saved as model (\S+), estimated \S+ by user/tester from ` + patients + ` patients`).FindStringSubmatch(out)
	if code != 0 || saved == nil || !strings.Contains(out, "at the next `omnichart admin mpi rematch`") {
		t.Fatalf("estimate --save exited %d:\n%s\nwant the saved model's id and when it takes effect", code, out)
	}
	out, code = omnichart(t, work, "admin", "mpi", "rematch", "--db", db)
	if code != 0 || !strings.Contains(out, "scored with model "+saved[1]+", estimated") || !strings.Contains(out, "by user/tester") {
		t.Fatalf("rematch after the save exited %d:\n%s\nwant it scored with model %s", code, out, saved[1])
	}
	if out, _ := omnichart(t, work, "admin", "mpi", "estimate", "--db", db); !strings.Contains(out, "in use: model "+saved[1]) {
		t.Errorf("estimate after the save:\n%s\nwant model %s in use", out, saved[1])
	}
}
