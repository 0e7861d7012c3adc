package match_test

import (
	"testing"

	"omnichart/internal/match"
)

func TestNicknames(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{"Bill is William", "Bill", "William", true},
		{"Peggy is Margaret", "PEGGY", "Margaret", true},
		{"Bill and Will are both William", "Bill", "Will", true},
		{"Jack is John", "Jack", "John", true},
		{"Pat is Patricia", "Pat", "Patricia", true},
		{"Pat is Patrick", "Pat", "Patrick", true},
		{"Patrick and Patricia are two names", "Patrick", "Patricia", false},
		{"Stephen and Steven are spellings of one name", "Stephen", "Steven", true},
		{"Catherine and Katherine are spellings of one name", "Catherine", "Katherine", true},
		{"Mary and Maria are two names", "Mary", "Maria", false},
		{"Liam is not listed for William", "Liam", "William", false},
		{"a name is not its own nickname", "Mary", "Mary", false},
		{"names the table does not know are no nicknames", "Kwame", "Kofi", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := match.Nicknames(tt.a, tt.b); got != tt.want {
				t.Errorf("Nicknames(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}
