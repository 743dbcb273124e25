package keyfile

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
)

// LoadOrCreateP256 returns the P-256 private key at path (one line, atproto
// multibase form), generating it on first use; created says it was made
// now. OAuth clients keep their client-assertion key this way: it must
// survive restarts, because a PDS caches a client's JWKS and refuses a new
// key's assertions until its cache expires.
func LoadOrCreateP256(path string, log *slog.Logger) (key *atcrypto.PrivateKeyP256, created bool, err error) {
	raw, created, err := LoadOrCreate(path, func() ([]byte, error) {
		key, err := atcrypto.GeneratePrivateKeyP256()
		if err != nil {
			return nil, fmt.Errorf("generate P-256 key: %w", err)
		}
		return []byte(key.Multibase() + "\n"), nil
	}, log)
	if err != nil {
		return nil, false, err
	}
	parsed, err := atcrypto.ParsePrivateMultibase(strings.TrimSpace(string(raw)))
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	key, ok := parsed.(*atcrypto.PrivateKeyP256)
	if !ok {
		return nil, false, fmt.Errorf("%s: want a P-256 key, got %T", path, parsed)
	}
	return key, created, nil
}

// P256KeyID names a key after its public half (prefix + 16 hex digits),
// so the kid changes exactly when the key does.
func P256KeyID(prefix string, key *atcrypto.PrivateKeyP256) (string, error) {
	pub, err := key.PublicKey()
	if err != nil {
		return "", fmt.Errorf("public key: %w", err)
	}
	sum := sha256.Sum256(pub.Bytes())
	return prefix + hex.EncodeToString(sum[:8]), nil
}
