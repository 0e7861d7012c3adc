package match

import (
	"testing"
)

func TestBlockingKeys(t *testing.T) {
	reg := NewRegistry()
	patient := func(given, family, birth string) *profile {
		r := testRecord(given, family)
		r.Patient["birthDate"] = birth
		return prepare(r, reg)
	}
	tests := []struct {
		name  string
		a, b  *profile
		share bool
	}{
		{"day and month swapped keep the birth key", patient("Mary", "King", "1984-03-05"), patient("Ann", "Brown", "1984-05-03"), true},
		{"a nickname keeps the name key in a year of birth", patient("Bill", "Wilson", "1961-08-09"), patient("William", "Willson", "1961-02-01"), true},
		{"another year and another name share no key", patient("Bill", "Wilson", "1961-08-09"), patient("William", "Wilson", "1971-02-01"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ka, kb := blockingKeys(tt.a), blockingKeys(tt.b)
			shared := false
			for _, x := range ka {
				for _, y := range kb {
					shared = shared || x == y
				}
			}
			if shared != tt.share {
				t.Errorf("blockingKeys share a key: %v, want %v", shared, tt.share)
			}
		})
	}
}

func TestCandidatePairsLeaveOutLargeBlocks(t *testing.T) {
	blocks := map[uint64][]int32{
		1: {0, 1, 2, 3, 4}, // a placeholder phone of five records
		2: {0, 1},
		3: {1, 2, 3},
	}
	pairs, skipped := candidatePairs(blocks, 4)
	want := []uint64{pairKey(0, 1), pairKey(1, 2), pairKey(1, 3), pairKey(2, 3)}
	if skipped != 1 || len(pairs) != len(want) {
		t.Fatalf("candidatePairs() = %d pairs, %d skipped, want %d pairs and 1 skipped", len(pairs), skipped, len(want))
	}
	for i := range want {
		if pairs[i] != want[i] {
			t.Errorf("candidatePairs()[%d] = %x, want %x", i, pairs[i], want[i])
		}
	}
}
