package sqlite_test

import (
	"context"
	"testing"

	"omnichart/internal/ehrtest"
	"omnichart/internal/store"
	"omnichart/internal/store/sqlite"
)

// TestDurabilitySettings checks what makes an acknowledged write survive power loss:
// WAL journaling with synchronous=FULL on the connection that writes.
func TestDurabilitySettings(t *testing.T) {
	s, err := sqlite.Open(context.Background(), ehrtest.SQLitePath(t), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mode string
	var sync int
	if err := s.DB().QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().QueryRow("PRAGMA synchronous").Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || sync != 2 {
		t.Errorf("journal_mode = %s, synchronous = %d; want wal and 2 (FULL)", mode, sync)
	}
}

func TestReopenKeepsDataAndSkipsAppliedMigrations(t *testing.T) {
	path := ehrtest.SQLitePath(t)
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := s.Create(ctx, s.NewID(), map[string]any{"resourceType": "Patient"})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if _, err := s.Read(ctx, "Patient", rec.ID); err != nil {
		t.Errorf("Read after reopen: %v", err)
	}
}
