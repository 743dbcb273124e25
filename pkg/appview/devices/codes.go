package devices

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// userCodeAlphabet has no vowels (no words) and no look-alikes (no 0/O,
// 1/I), as RFC 8628 §6.1 suggests: 20^8 ≈ 2.6e10 codes.
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// userCodeLength is the number of letters; shown as XXXX-XXXX.
const userCodeLength = 8

// SecretPrefix starts every device secret. It tells the credential verifier
// a device secret from an app password without a database lookup.
const SecretPrefix = "atcr_dev_"

// randomBytes returns n bytes from the system CSPRNG.
func randomBytes(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("random bytes: %w", err)
	}
	return b, nil
}

// newUserCode returns a random normalised user code (8 letters, no dash).
// Each letter comes from one byte below 240 (a multiple of 20), so the
// letters are uniform.
func newUserCode() (string, error) {
	var b strings.Builder
	for b.Len() < userCodeLength {
		raw, err := randomBytes(userCodeLength)
		if err != nil {
			return "", err
		}
		for _, x := range raw {
			if x < 240 && b.Len() < userCodeLength {
				b.WriteByte(userCodeAlphabet[int(x)%len(userCodeAlphabet)])
			}
		}
	}
	return b.String(), nil
}

// NormalizeUserCode turns what a user typed into the stored form: case is
// ignored, and dashes and spaces are optional. It reports false for a
// string that cannot be a user code.
func NormalizeUserCode(typed string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToUpper(typed) {
		switch {
		case r == '-' || r == ' ':
			continue
		case r < 128 && strings.ContainsRune(userCodeAlphabet, r):
			b.WriteRune(r)
		default:
			return "", false
		}
		if b.Len() > userCodeLength {
			return "", false
		}
	}
	if b.Len() != userCodeLength {
		return "", false
	}
	return b.String(), true
}

// FormatUserCode shows a normalised code as XXXX-XXXX.
func FormatUserCode(code string) string {
	if len(code) != userCodeLength {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// newOpaque returns base64url (no padding) of n random bytes.
func newOpaque(n int) (string, error) {
	b, err := randomBytes(n)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// newSecret returns a device secret: the prefix and 32 random bytes.
func newSecret() (string, error) {
	s, err := newOpaque(32)
	if err != nil {
		return "", err
	}
	return SecretPrefix + s, nil
}

// sha256Hex is how device codes are stored: a leaked database row cannot
// be polled with.
func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// secretHint is the short, non-secret lookup key of a device secret.
func secretHint(secret string) string { return sha256Hex(secret)[:8] }
