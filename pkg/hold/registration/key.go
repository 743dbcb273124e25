package registration

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"

	"github.com/bluesky-social/indigo/atproto/atcrypto"

	"atcr.io/internal/keyfile"
)

// clientKeyFile holds the confidential client's private key, one line in
// atproto multibase form, under Options.DataDir.
const clientKeyFile = "client-key.mb"

// loadOrCreateClientKey returns the P-256 client-assertion key at path,
// generating it on first start. A new key on every start would make the
// owner's PDS, which caches the client's JWKS, refuse the client assertion
// until its cache expired. (The AppView keeps its own key the same way in
// pkg/appview/appoauth; the hold may not import it.)
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
		log.Info("Hold registration: created OAuth client key", "path", path)
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
	return "hold-" + hex.EncodeToString(sum[:8]), nil
}
