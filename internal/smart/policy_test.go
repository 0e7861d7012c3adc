package smart_test

import (
	"context"
	"slices"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/smart"
)

// TestIndexRecordsNeedEverySource checks that the master patient index's source
// is taken out of a caller's sources unless the caller may see every source: its
// Persons and review Tasks name Patients of every source.
func TestIndexRecordsNeedEverySource(t *testing.T) {
	scopes, err := smart.ParseScopes("system/*.rs")
	must(t, err)
	userScopes, err := smart.ParseScopes("user/*.rs")
	must(t, err)
	tests := []struct {
		name  string
		grant smart.Grant
		want  []string // nil: no source restriction
	}{
		{"a client of source a and the index sees only a", smart.Grant{Scopes: scopes, ClientID: "c", ClientSources: []string{sourceA, smart.IndexSource}}, []string{sourceA}},
		{"a client of the index alone sees nothing", smart.Grant{Scopes: scopes, ClientID: "c", ClientSources: []string{smart.IndexSource}}, []string{}},
		{"a client of every source sees the index", smart.Grant{Scopes: scopes, ClientID: "c", ClientAllSources: true}, nil},
		{"a user whose organization lists the index sees only its other sources", smart.Grant{Scopes: userScopes, ClientID: "c", Username: "u",
			UserSources: []string{smart.IndexSource, sourceB}}, []string{sourceB}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := smart.WithGrant(context.Background(), tt.grant)
			scope, err := smart.Policy{}.Scope(ctx, ehr.Principal{Subject: "client/c"})
			if err != nil {
				t.Fatal(err)
			}
			if (tt.want == nil) != (scope.Sources == nil) || !slices.Equal(scope.Sources, tt.want) {
				t.Errorf("Scope().Sources = %#v, want %#v", scope.Sources, tt.want)
			}
			if scope.Allows("Person", "Patient/x", smart.IndexSource) != (tt.want == nil) {
				t.Errorf("Scope().Allows(Person of the index) = %v, want %v", !(tt.want == nil), tt.want == nil)
			}
		})
	}
}
