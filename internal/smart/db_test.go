package smart_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"omnichart/internal/smart"
)

// TestAUserWritesForTheSourceNamedLikeTheOrganization checks which source owns
// what a user writes when the organization sees several: the source whose slug
// is the organization's name, even when another sorts first; otherwise the
// first by URI.
func TestAUserWritesForTheSourceNamedLikeTheOrganization(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			h := newHarness(t, engine)
			ctx := context.Background()
			tests := []struct {
				name, org string
				sources   []string
				want      string
			}{
				{"an organization named like one of its sources writes for it", "b", []string{sourceA, sourceB}, sourceB},
				{"an organization named like none writes for the first by URI", "org-ab", []string{sourceB, sourceA}, sourceA},
			}
			for i, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					user := "user" + string(rune('0'+i))
					for _, s := range tt.sources {
						must(t, h.auth.AddOrgSource(ctx, tt.org, s))
					}
					must(t, h.auth.AddUser(ctx, smart.User{Username: user, Org: tt.org}, password))
					tok, err := h.auth.IssueToken(ctx, "user/*.cruds", user, "", time.Hour)
					must(t, err)
					req, err := http.NewRequest(http.MethodPost, h.url+"/fhir/Patient", strings.NewReader(`{"resourceType":"Patient"}`))
					must(t, err)
					req.Header.Set("Content-Type", "application/fhir+json")
					req.Header.Set("Authorization", "Bearer "+tok)
					resp, body := h.do(req)
					var got struct {
						Meta struct {
							Source string `json:"source"`
						} `json:"meta"`
					}
					if resp.StatusCode != http.StatusCreated || json.Unmarshal(body, &got) != nil {
						t.Fatalf("POST Patient as a user of %s = %d %s, want 201", tt.org, resp.StatusCode, body)
					}
					if got.Meta.Source != tt.want {
						t.Errorf("POST Patient as a user of %s (sources %v) wrote meta.source %q, want %q", tt.org, tt.sources, got.Meta.Source, tt.want)
					}
				})
			}
		})
	}
}
