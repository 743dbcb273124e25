package oci

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestHasher(t *testing.T) {
	content := bytes.Repeat([]byte("layer bytes "), 5000)
	h := NewHasher(SHA256, SHA512, SHA256) // duplicates are ignored
	if _, err := io.Copy(h, bytes.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	for _, alg := range []Algorithm{SHA256, SHA512} {
		d, ok := h.Digest(alg)
		if !ok || d != FromBytes(alg, content) {
			t.Errorf("Digest(%s) = %s, %v; want %s", alg, d, ok, FromBytes(alg, content))
		}
		if err := h.Verify(FromBytes(alg, content), int64(len(content))); err != nil {
			t.Errorf("Verify(%s): %v", alg, err)
		}
	}
	if h.Size() != int64(len(content)) {
		t.Errorf("Size = %d", h.Size())
	}
	if err := h.Verify(FromBytes(SHA256, []byte("x")), SizeUnknown); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("Verify(wrong digest) = %v", err)
	}
	if err := h.Verify(FromBytes(SHA256, content), 1); !errors.Is(err, ErrSizeMismatch) {
		t.Errorf("Verify(wrong size) = %v", err)
	}
	if err := h.Verify(Digest{}, SizeUnknown); !errors.Is(err, ErrInvalidDigest) {
		t.Errorf("Verify(zero digest) = %v", err)
	}

	only256 := NewHasher()
	only256.Write(content)
	if _, ok := only256.Digest(SHA512); ok {
		t.Error("a default Hasher claims a sha512 digest")
	}
	if err := only256.Verify(FromBytes(SHA512, content), SizeUnknown); !errors.Is(err, ErrInvalidDigest) {
		t.Errorf("Verify of an algorithm not computed = %v", err)
	}
	// Digest does not disturb the running state.
	only256.Write([]byte("more"))
	if d, _ := only256.Digest(SHA256); d != FromBytes(SHA256, append(bytes.Clone(content), "more"...)) {
		t.Error("Digest() disturbed the running hash")
	}
}

func TestNewHasherRefusesUnknownAlgorithm(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewHasher(md5) did not panic")
		}
	}()
	NewHasher(Algorithm("md5"))
}

func TestHasherResume(t *testing.T) {
	content := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	first := NewHasher(SHA256, SHA512)
	first.Write(content[:10001])
	state, err := first.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var resumed Hasher
	if err := resumed.UnmarshalBinary(state); err != nil {
		t.Fatal(err)
	}
	resumed.Write(content[10001:])
	for _, alg := range []Algorithm{SHA256, SHA512} {
		if err := resumed.Verify(FromBytes(alg, content), int64(len(content))); err != nil {
			t.Errorf("resumed %s: %v", alg, err)
		}
	}
}

func TestHasherUnmarshalRefusesBadState(t *testing.T) {
	h := NewHasher(SHA256, SHA512)
	h.Write([]byte("abc"))
	state, _ := h.MarshalBinary()
	// Every truncation of a good state must be refused, not half-restored.
	for n := range len(state) {
		var r Hasher
		if err := r.UnmarshalBinary(state[:n]); err == nil {
			t.Errorf("a state truncated to %d of %d bytes was accepted", n, len(state))
		}
	}
	bad := map[string][]byte{
		"trailing bytes": append(bytes.Clone(state), 0),
		"bad magic":      append([]byte("xxxhash1"), state[8:]...),
		"unknown alg":    bytes.Replace(bytes.Clone(state), []byte("sha512"), []byte("sha999"), 1),
		"duplicate alg":  bytes.Replace(bytes.Clone(state), []byte("sha512"), []byte("sha256"), 1),
		"no algorithms":  append([]byte("ocihash1\x00"), make([]byte, 8)...),
	}
	for name, b := range bad {
		var r Hasher
		if err := r.UnmarshalBinary(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func BenchmarkHasher(b *testing.B) {
	chunk := bytes.Repeat([]byte{7}, 1<<20)
	for name, algs := range map[string][]Algorithm{"sha256": {SHA256}, "sha256+sha512": {SHA256, SHA512}} {
		b.Run(name, func(b *testing.B) {
			h := NewHasher(algs...)
			b.SetBytes(int64(len(chunk)))
			for b.Loop() {
				h.Write(chunk)
			}
		})
	}
}
