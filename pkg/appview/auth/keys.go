package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// keyFileName is the signing key inside <data_dir>/auth.
const keyFileName = "token-key.pem"

// maxKeyFileBytes bounds the key file read: a P-256 PKCS#8 PEM is ~240 bytes.
const maxKeyFileBytes = 16 << 10

// loadOrCreateKey returns the P-256 key at path, generating and persisting
// one on first start. The file is written 0600 under a 0700 directory and
// appears atomically: it is written under a temporary name and hard-linked
// into place, so two processes starting together end up with the same key.
func loadOrCreateKey(path string, log *slog.Logger) (*ecdsa.PrivateKey, error) {
	key, err := readKey(path, log)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate token signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode token signing key: %w", err)
	}
	if err := writeNewFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKey(path, log) // another process won the race
		}
		return nil, err
	}
	log.Info("auth: created registry token signing key", "path", path)
	return key, nil
}

// readKey parses a PKCS#8 P-256 key. A missing file returns an error
// wrapping fs.ErrNotExist.
func readKey(path string, log *slog.Logger) (*ecdsa.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open token signing key: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat token signing key %s: %w", path, err)
	}
	if info.Size() > maxKeyFileBytes {
		return nil, fmt.Errorf("token signing key %s: %d bytes is not a P-256 key", path, info.Size())
	}
	if info.Mode().Perm()&0o077 != 0 {
		log.Warn("auth: token signing key is readable by group or others", "path", path, "mode", info.Mode().Perm().String())
	}
	raw := make([]byte, info.Size())
	if _, err := f.ReadAt(raw, 0); err != nil {
		return nil, fmt.Errorf("read token signing key %s: %w", path, err)
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("token signing key %s: want a PEM \"PRIVATE KEY\" (PKCS#8) block", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("token signing key %s: %w", path, err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("token signing key %s: want an ECDSA P-256 key, got %T", path, parsed)
	}
	return key, nil
}

// writeNewFile creates path with data (0600), failing with fs.ErrExist if
// it already exists. The data is synced before the name appears.
func writeNewFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, ".token-key-*.tmp")
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
