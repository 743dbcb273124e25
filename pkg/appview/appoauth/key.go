package appoauth

import (
	"fmt"
	"log/slog"

	"github.com/bluesky-social/indigo/atproto/atcrypto"

	"atcr.io/internal/keyfile"
)

// clientKeyFile is the confidential client's private key inside
// <data_dir>/oauth: one line, the key in atproto multibase form.
const clientKeyFile = "client-key.mb"

// loadOrCreateClientKey returns the P-256 client-assertion key at path,
// generating it on first start. It must survive restarts: the PDS caches a
// client's JWKS for ten minutes, so a new key on restart makes every login
// fail with "signature verification failed" until the cache expires.
// internal/keyfile writes it 0600 in a 0700 directory and atomically, so two
// processes starting together agree on one key and a crash never leaves
// half a key.
func loadOrCreateClientKey(path string, log *slog.Logger) (*atcrypto.PrivateKeyP256, error) {
	key, created, err := keyfile.LoadOrCreateP256(path, log)
	if err != nil {
		return nil, fmt.Errorf("OAuth client key: %w", err)
	}
	if created {
		log.Info("oauth: created client assertion key", "path", path)
	}
	return key, nil
}

// keyID is the client key's kid in the AppView's JWKS.
func keyID(key *atcrypto.PrivateKeyP256) (string, error) {
	return keyfile.P256KeyID("atcr-", key)
}
