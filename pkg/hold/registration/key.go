package registration

import (
	"fmt"
	"log/slog"

	"github.com/bluesky-social/indigo/atproto/atcrypto"

	"atcr.io/internal/keyfile"
)

// clientKeyFile holds the confidential client's private key, one line in
// atproto multibase form, under Options.DataDir.
const clientKeyFile = "client-key.mb"

// loadOrCreateClientKey returns the P-256 client-assertion key at path,
// generating it on first start (keyfile.LoadOrCreateP256: it must survive
// restarts, or the owner's PDS refuses the client until its JWKS cache
// expires).
func loadOrCreateClientKey(path string, log *slog.Logger) (*atcrypto.PrivateKeyP256, error) {
	key, created, err := keyfile.LoadOrCreateP256(path, log)
	if err != nil {
		return nil, fmt.Errorf("OAuth client key: %w", err)
	}
	if created {
		log.Info("Hold registration: created OAuth client key", "path", path)
	}
	return key, nil
}

// keyID is the client key's kid in the hold's JWKS.
func keyID(key *atcrypto.PrivateKeyP256) (string, error) {
	return keyfile.P256KeyID("hold-", key)
}
