package smart

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// keyring holds the server's signing keys. They live in auth_keys so that every
// server process on one database signs and accepts the same tokens; the newest is
// used for signing.
type keyring struct {
	repo repo
	now  func() time.Time
	mu   sync.Mutex
	keys map[string]*jose.JSONWebKey
	// current is the kid of the signing key.
	current string
	// loaded is when the keys were last read: the signing key is read again
	// after keyReload, so that a rotation by another process (or the command
	// line) is taken up without a restart.
	loaded time.Time
}

// keyReload is how long a process signs with the key it read before reading the
// keys again.
const keyReload = time.Minute

// signingKey returns the current private key, creating the first one (ES256, P-256)
// when the database has none.
func (k *keyring) signingKey(ctx context.Context) (*jose.JSONWebKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.current != "" && k.now().Sub(k.loaded) < keyReload {
		return k.keys[k.current], nil
	}
	if err := k.loadLocked(ctx); err != nil {
		return nil, err
	}
	if k.current == "" {
		if _, err := k.addLocked(ctx); err != nil {
			return nil, err
		}
	}
	return k.keys[k.current], nil
}

// addLocked makes a new signing key (ES256, P-256), stores it and reads the
// keys again, so that it becomes the current one.
func (k *keyring) addLocked(ctx context.Context) (string, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	jwk := jose.JSONWebKey{Key: priv, Algorithm: string(jose.ES256), Use: "sig"}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	raw, err := jwk.MarshalJSON()
	if err != nil {
		return "", err
	}
	// A new key is newer than every stored one, even on a clock that went back.
	created := micros(k.now())
	var newest sql.NullInt64
	if err := k.repo.row(ctx, `SELECT max(created) FROM auth_keys`).Scan(&newest); err != nil {
		return "", err
	}
	if newest.Valid && newest.Int64 >= created {
		created = newest.Int64 + 1
	}
	if _, err := k.repo.exec(ctx, `INSERT INTO auth_keys (kid, alg, private_jwk, created) VALUES (?, ?, ?, ?) ON CONFLICT (kid) DO NOTHING`,
		jwk.KeyID, jwk.Algorithm, string(raw), created); err != nil {
		return "", fmt.Errorf("store signing key: %w", err)
	}
	return jwk.KeyID, k.loadLocked(ctx)
}

// rotate makes a new signing key; the old ones still verify what they signed
// until retire removes them.
func (k *keyring) rotate(ctx context.Context) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.addLocked(ctx)
}

// retire deletes every key made before cutoff except the current one: tokens
// they signed stop working at once.
func (k *keyring) retire(ctx context.Context, cutoff time.Time) (int64, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.loadLocked(ctx); err != nil {
		return 0, err
	}
	n, err := k.repo.exec(ctx, `DELETE FROM auth_keys WHERE created < ? AND kid <> ?`, micros(cutoff), k.current)
	if err != nil {
		return 0, err
	}
	return n, k.loadLocked(ctx)
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
	k.keys, k.current, k.loaded = keys, current, k.now()
	return nil
}
