package store_test

import (
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/store"
	"omnichart/internal/store/storetest"
)

func TestStores(t *testing.T) {
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" {
				ehrtest.PostgresURL(t)
			}
			storetest.Run(t, func(t *testing.T) ehr.ResourceStore {
				return ehrtest.MustOpen(t, engine, store.Options{})
			})
		})
	}
}
