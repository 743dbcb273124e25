package oci

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"hash"
	"strings"
)

// ErrInvalidDigest is wrapped by every digest parsing failure.
var ErrInvalidDigest = errors.New("invalid digest")

// Algorithm is a digest algorithm the registry accepts.
type Algorithm string

// The only algorithms accepted. Anything else is refused before a storage key
// or a URL is built from it.
const (
	SHA256 Algorithm = "sha256"
	SHA512 Algorithm = "sha512"
)

// hexLen is the number of lowercase hex characters of an encoded digest.
func (a Algorithm) hexLen() int {
	switch a {
	case SHA256:
		return 64
	case SHA512:
		return 128
	}
	return 0
}

// New returns a fresh hash for the algorithm.
func (a Algorithm) New() hash.Hash {
	if a == SHA512 {
		return sha512.New()
	}
	return sha256.New()
}

// Digest is a validated content digest such as "sha256:<64 hex>". The zero
// value is "no digest"; every non-zero Digest came from ParseDigest or
// FromBytes and is safe to use in storage keys and URLs.
type Digest struct {
	alg Algorithm
	hex string
}

// ParseDigest validates s: "sha256:" followed by 64 lowercase hex characters,
// or "sha512:" followed by 128. Uppercase hex, other algorithms, separators
// and path characters are all refused.
func ParseDigest(s string) (Digest, error) {
	algStr, hexStr, ok := strings.Cut(s, ":")
	if !ok {
		return Digest{}, invalidf(ErrInvalidDigest, "%q has no algorithm prefix", truncate(s))
	}
	alg := Algorithm(algStr)
	want := alg.hexLen()
	if want == 0 {
		return Digest{}, invalidf(ErrInvalidDigest, "unsupported algorithm %q", truncate(algStr))
	}
	if len(hexStr) != want {
		return Digest{}, invalidf(ErrInvalidDigest, "%s needs %d hex characters, got %d", alg, want, len(hexStr))
	}
	for i := 0; i < len(hexStr); i++ {
		c := hexStr[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return Digest{}, invalidf(ErrInvalidDigest, "%q is not lowercase hex", truncate(hexStr))
		}
	}
	return Digest{alg: alg, hex: hexStr}, nil
}

// FromBytes returns the digest of b under alg.
func FromBytes(alg Algorithm, b []byte) Digest {
	h := alg.New()
	h.Write(b)
	return FromHash(alg, h)
}

// FromHash returns the digest held by a hash created with alg.New().
func FromHash(alg Algorithm, h hash.Hash) Digest {
	return Digest{alg: alg, hex: hex.EncodeToString(h.Sum(nil))}
}

// Algorithm returns the digest's algorithm.
func (d Digest) Algorithm() Algorithm { return d.alg }

// Hex returns the encoded part after the colon.
func (d Digest) Hex() string { return d.hex }

// IsZero reports whether d is the zero value.
func (d Digest) IsZero() bool { return d.alg == "" }

// String returns "alg:hex", or "" for the zero value.
func (d Digest) String() string {
	if d.IsZero() {
		return ""
	}
	return string(d.alg) + ":" + d.hex
}

// MarshalText implements encoding.TextMarshaler.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler and validates.
func (d *Digest) UnmarshalText(b []byte) error {
	p, err := ParseDigest(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}
