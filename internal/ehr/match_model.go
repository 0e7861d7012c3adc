package ehr

import (
	"context"
	"time"
)

// MatchModel is a model of the patient matcher (the m and u of every field's
// agreement levels, internal/match) as the master patient index stores it,
// with where it came from. The store keeps every model saved; the newest is
// the one the index uses.
type MatchModel struct {
	// ID is assigned by the store when the model is saved.
	ID string
	// Estimated is when the model was estimated; EstimatedBy who asked for it
	// to be saved ("user/jdoe").
	Estimated   time.Time
	EstimatedBy string
	// Records and Pairs are how many Patients and compared pairs it was
	// estimated from.
	Records, Pairs int
	// Body is the model as internal/match encodes it (JSON: levels, m and u;
	// never a name or other value of a record).
	Body []byte
}

// MatchModelStore is implemented by stores that keep the matcher's models.
type MatchModelStore interface {
	// SaveMatchModel stores m as the newest model and returns it with its ID.
	// A model without EstimatedBy or Body is Invalid.
	SaveMatchModel(ctx context.Context, m MatchModel) (MatchModel, error)
	// CurrentMatchModel returns the newest model saved; NotFound when none is.
	CurrentMatchModel(ctx context.Context) (MatchModel, error)
}
