package appoauth

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"

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
	raw, created, err := keyfile.LoadOrCreate(path, func() ([]byte, error) {
		key, err := atcrypto.GeneratePrivateKeyP256()
		if err != nil {
			return nil, fmt.Errorf("generate OAuth client key: %w", err)
		}
		return []byte(key.Multibase() + "\n"), nil
	}, log)
	if err != nil {
		return nil, fmt.Errorf("OAuth client key: %w", err)
	}
	parsed, err := atcrypto.ParsePrivateMultibase(strings.TrimSpace(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("OAuth client key %s: %w", path, err)
	}
	key, ok := parsed.(*atcrypto.PrivateKeyP256)
	if !ok {
		return nil, fmt.Errorf("OAuth client key %s: want a P-256 key, got %T", path, parsed)
	}
	if created {
		log.Info("oauth: created client assertion key", "path", path)
	}
	return key, nil
}

// keyID names the key after its public half, so the kid changes exactly
// when the key does.
func keyID(key *atcrypto.PrivateKeyP256) (string, error) {
	pub, err := key.PublicKey()
	if err != nil {
		return "", fmt.Errorf("OAuth client key: %w", err)
	}
	sum := sha256.Sum256(pub.Bytes())
	return "atcr-" + hex.EncodeToString(sum[:8]), nil
}
