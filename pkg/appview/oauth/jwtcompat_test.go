package appoauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// With indigo's oauth package linked, golang-jwt still verifies ES256
// tokens with plain ECDSA keys (as pkg/appview/auth's registry JWTs are).
func TestES256StillVerifiesECDSAKeys(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.RegisteredClaims{Subject: "x"}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	_, err = jwt.Parse(raw, func(*jwt.Token) (any, error) { return &key.PublicKey, nil }, jwt.WithValidMethods([]string{"ES256"}))
	if err != nil {
		t.Fatalf("ES256 verification with an *ecdsa.PublicKey: %v", err)
	}
}
