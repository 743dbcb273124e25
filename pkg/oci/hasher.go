package oci

import (
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"slices"
)

// Content verification errors.
var (
	// ErrDigestMismatch: the content hashed to another digest (DIGEST_INVALID, 400).
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrSizeMismatch: the content is shorter or longer than declared (SIZE_INVALID, 400).
	ErrSizeMismatch = errors.New("size mismatch")
)

// SizeUnknown tells Hasher.Verify not to check the size.
const SizeUnknown int64 = -1

// Hasher digests a stream written to it, for uploads whose bytes pass
// through in pieces (io.Copy(io.MultiWriter(dst, h), body)). A blob upload's
// digest algorithm is known only at the final PUT, so a Hasher can run
// several algorithms at once. Its state survives between requests through
// MarshalBinary / UnmarshalBinary.
type Hasher struct {
	algs   []Algorithm
	hashes []hash.Hash
	size   int64
}

// NewHasher returns a Hasher computing each of algs (SHA256 when none are
// given). It panics on an algorithm other than SHA256 or SHA512: those are
// constants, or the Algorithm of a parsed Digest.
func NewHasher(algs ...Algorithm) *Hasher {
	if len(algs) == 0 {
		algs = []Algorithm{SHA256}
	}
	h := &Hasher{}
	for _, a := range algs {
		if a.hexLen() == 0 {
			panic(fmt.Sprintf("oci.NewHasher: unsupported algorithm %q", a))
		}
		if !slices.Contains(h.algs, a) {
			h.algs = append(h.algs, a)
			h.hashes = append(h.hashes, a.New())
		}
	}
	return h
}

// Write hashes p; it never fails.
func (h *Hasher) Write(p []byte) (int, error) {
	for _, hh := range h.hashes {
		hh.Write(p)
	}
	h.size += int64(len(p))
	return len(p), nil
}

// Size returns the number of bytes written so far.
func (h *Hasher) Size() int64 { return h.size }

// Digest returns the digest of the bytes written so far under alg; ok is
// false when the Hasher does not compute alg. Writing may continue after.
func (h *Hasher) Digest(alg Algorithm) (d Digest, ok bool) {
	i := slices.Index(h.algs, alg)
	if i < 0 {
		return Digest{}, false
	}
	return FromHash(alg, h.hashes[i]), true
}

// Verify checks the bytes written so far against expected and, unless size
// is SizeUnknown, against size. It returns ErrSizeMismatch, ErrDigestMismatch,
// or ErrInvalidDigest when expected's algorithm was not computed.
func (h *Hasher) Verify(expected Digest, size int64) error {
	if size >= 0 && h.size != size {
		return invalidf(ErrSizeMismatch, "content is %d bytes, declared %d", h.size, size)
	}
	got, ok := h.Digest(expected.Algorithm())
	if !ok || expected.IsZero() {
		return invalidf(ErrInvalidDigest, "the upload was not hashed with %q", expected.Algorithm())
	}
	if got != expected {
		return invalidf(ErrDigestMismatch, "content digest is %s, expected %s", got, expected)
	}
	return nil
}

// hasherMagic starts the binary form; bump the digit if the layout changes.
const hasherMagic = "ocihash1"

// MarshalBinary saves the running state (not the bytes) so an upload can be
// resumed by another request or process.
func (h *Hasher) MarshalBinary() ([]byte, error) {
	out := append([]byte(hasherMagic), byte(len(h.algs)))
	out = binary.BigEndian.AppendUint64(out, uint64(h.size))
	for i, a := range h.algs {
		state, err := h.hashes[i].(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("marshal %s state: %w", a, err)
		}
		out = append(out, byte(len(a)))
		out = append(out, a...)
		out = binary.BigEndian.AppendUint32(out, uint32(len(state)))
		out = append(out, state...)
	}
	return out, nil
}

var errHasherState = errors.New("invalid hasher state")

// UnmarshalBinary restores a state saved by MarshalBinary.
func (h *Hasher) UnmarshalBinary(b []byte) error {
	if len(b) < len(hasherMagic)+1+8 || string(b[:len(hasherMagic)]) != hasherMagic {
		return errHasherState
	}
	count := int(b[len(hasherMagic)])
	b = b[len(hasherMagic)+1:]
	size := int64(binary.BigEndian.Uint64(b))
	b = b[8:]
	restored := &Hasher{size: size}
	for range count {
		if len(b) < 1 || len(b) < 1+int(b[0])+4 {
			return errHasherState
		}
		alg := Algorithm(b[1 : 1+b[0]])
		b = b[1+len(alg):]
		n := int(binary.BigEndian.Uint32(b))
		b = b[4:]
		if alg.hexLen() == 0 || slices.Contains(restored.algs, alg) || size < 0 || len(b) < n {
			return errHasherState
		}
		hh := alg.New()
		if err := hh.(encoding.BinaryUnmarshaler).UnmarshalBinary(b[:n]); err != nil {
			return fmt.Errorf("%w: %s: %w", errHasherState, alg, err)
		}
		restored.algs = append(restored.algs, alg)
		restored.hashes = append(restored.hashes, hh)
		b = b[n:]
	}
	if len(b) != 0 || count == 0 {
		return errHasherState
	}
	*h = *restored
	return nil
}
