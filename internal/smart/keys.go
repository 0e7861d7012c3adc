package smart

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"

	"github.com/go-jose/go-jose/v4"
)

// keyring holds the server's signing keys. They live in auth_keys so that every
// server process on one database signs and accepts the same tokens; the newest is
// used for signing.
type keyring struct {
	repo repo
	mu   sync.Mutex
	keys map[string]*jose.JSONWebKey
	// current is the kid of the signing key.
	current string
}

// signingKey returns the current private key, creating the first one (ES256, P-256)
// when the database has none.
func (k *keyring) signingKey(ctx context.Context) (*jose.JSONWebKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.current != "" {
		return k.keys[k.current], nil
	}
	if err := k.loadLocked(ctx); err != nil {
		return nil, err
	}
	if k.current == "" {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		jwk := jose.JSONWebKey{Key: priv, Algorithm: string(jose.ES256), Use: "sig"}
		thumb, err := jwk.Thumbprint(crypto.SHA256)
		if err != nil {
			return nil, err
		}
		jwk.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
		raw, err := jwk.MarshalJSON()
		if err != nil {
			return nil, err
		}
		if _, err := k.repo.exec(ctx, `INSERT INTO auth_keys (kid, alg, private_jwk, created) VALUES (?, ?, ?, ?) ON CONFLICT (kid) DO NOTHING`,
			jwk.KeyID, jwk.Algorithm, string(raw), micros(nowUTC())); err != nil {
			return nil, fmt.Errorf("store signing key: %w", err)
		}
		if err := k.loadLocked(ctx); err != nil {
			return nil, err
		}
	}
	return k.keys[k.current], nil
}

// verificationKey returns the public key of kid, reloading the keys from the
// database once when kid is unknown (another process may have made it).
func (k *keyring) verificationKey(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if key, ok := k.keys[kid]; ok {
		pub := key.Public()
		return &pub, nil
	}
	if err := k.loadLocked(ctx); err != nil {
		return nil, err
	}
	if key, ok := k.keys[kid]; ok {
		pub := key.Public()
		return &pub, nil
	}
	return nil, fmt.Errorf("the token was not signed by a key of this server")
}

// public returns the JWK set of every verification key.
func (k *keyring) public(ctx context.Context) (jose.JSONWebKeySet, error) {
	if _, err := k.signingKey(ctx); err != nil {
		return jose.JSONWebKeySet{}, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	var set jose.JSONWebKeySet
	for _, key := range k.keys {
		set.Keys = append(set.Keys, key.Public())
	}
	return set, nil
}

func (k *keyring) loadLocked(ctx context.Context) error {
	rows, err := k.repo.db.QueryContext(ctx, k.repo.q(`SELECT kid, private_jwk FROM auth_keys ORDER BY created, kid`))
	if err != nil {
		return err
	}
	defer rows.Close()
	keys := map[string]*jose.JSONWebKey{}
	current := ""
	for rows.Next() {
		var kid, raw string
		if err := rows.Scan(&kid, &raw); err != nil {
			return err
		}
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON([]byte(raw)); err != nil {
			return fmt.Errorf("signing key %s: %w", kid, err)
		}
		keys[kid] = &jwk
		current = kid
	}
	if err := rows.Err(); err != nil {
		return err
	}
	k.keys, k.current = keys, current
	return nil
}
