package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"

	"atcr.io/internal/keyfile"
)

// keyFileName is the signing key inside <data_dir>/auth.
const keyFileName = "token-key.pem"

// loadOrCreateKey returns the P-256 key at path (PKCS#8 PEM), generating and
// persisting one on first start. internal/keyfile writes it 0600 under a
// 0700 directory and atomically, so two processes starting together end up
// with the same key.
func loadOrCreateKey(path string, log *slog.Logger) (*ecdsa.PrivateKey, error) {
	raw, created, err := keyfile.LoadOrCreate(path, generateKeyPEM, log)
	if err != nil {
		return nil, fmt.Errorf("token signing key: %w", err)
	}
	key, err := parseKeyPEM(raw)
	if err != nil {
		return nil, fmt.Errorf("token signing key %s: %w", path, err)
	}
	if created {
		log.Info("auth: created registry token signing key", "path", path)
	}
	return key, nil
}

func generateKeyPEM() ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate token signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode token signing key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// parseKeyPEM parses a PKCS#8 P-256 key.
func parseKeyPEM(raw []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("want a PEM \"PRIVATE KEY\" (PKCS#8) block")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("want an ECDSA P-256 key, got %T", parsed)
	}
	return key, nil
}
