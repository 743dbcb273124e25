package appoauth

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
)

// clientKeyFile is the confidential client's private key inside
// <data_dir>/oauth: one line, the key in atproto multibase form.
const clientKeyFile = "client-key.mb"

// maxKeyFileBytes bounds the key file read (a P-256 multibase key is ~50 bytes).
const maxKeyFileBytes = 4 << 10

// loadOrCreateClientKey returns the P-256 client-assertion key at path,
// generating it on first start. It must survive restarts: the PDS caches a
// client's JWKS for ten minutes, so a new key on restart makes every login
// fail with "signature verification failed" until the cache expires. The
// file is 0600 in a 0700 directory, written under a temporary name and
// hard-linked into place, so two processes starting together agree on one
// key and a crash never leaves half a key.
func loadOrCreateClientKey(path string, log *slog.Logger) (*atcrypto.PrivateKeyP256, error) {
	key, err := readClientKey(path, log)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	key, err = atcrypto.GeneratePrivateKeyP256()
	if err != nil {
		return nil, fmt.Errorf("generate OAuth client key: %w", err)
	}
	if err := writeNewFile(path, []byte(key.Multibase()+"\n")); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readClientKey(path, log) // another process won the race
		}
		return nil, err
	}
	log.Info("oauth: created client assertion key", "path", path)
	return key, nil
}

// readClientKey parses the key file; a missing file wraps fs.ErrNotExist.
func readClientKey(path string, log *slog.Logger) (*atcrypto.PrivateKeyP256, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("OAuth client key: %w", err)
	}
	if info.Size() > maxKeyFileBytes {
		return nil, fmt.Errorf("OAuth client key %s: %d bytes is not a P-256 key", path, info.Size())
	}
	if info.Mode().Perm()&0o077 != 0 {
		log.Warn("oauth: client key is readable by group or others", "path", path, "mode", info.Mode().Perm().String())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read OAuth client key: %w", err)
	}
	parsed, err := atcrypto.ParsePrivateMultibase(strings.TrimSpace(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("OAuth client key %s: %w", path, err)
	}
	key, ok := parsed.(*atcrypto.PrivateKeyP256)
	if !ok {
		return nil, fmt.Errorf("OAuth client key %s: want a P-256 key, got %T", path, parsed)
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

// writeNewFile creates path with data (0600), failing with fs.ErrExist if
// it already exists. The data is synced before the name appears.
func writeNewFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, ".client-key-*.tmp")
	if err != nil {
		return fmt.Errorf("create temporary key file: %w", err)
	}
	defer os.Remove(tmp.Name()) // the link below keeps the data under path
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("chmod %s: %w", tmp.Name(), err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	// Link, unlike rename, refuses to replace an existing file.
	if err := os.Link(tmp.Name(), path); err != nil {
		return fmt.Errorf("install %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the new name durable; best effort
		d.Close()
	}
	return nil
}
