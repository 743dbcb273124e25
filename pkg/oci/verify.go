package oci

import (
	"errors"
	"hash"
	"io"
)

// Content verification errors.
var (
	// ErrDigestMismatch: the content hashed to another digest (DIGEST_INVALID, 400).
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrSizeMismatch: the content is shorter or longer than declared (SIZE_INVALID, 400).
	ErrSizeMismatch = errors.New("size mismatch")
)

// SizeUnknown tells VerifyReader and Hasher.Verify not to check the size.
const SizeUnknown int64 = -1

// VerifyReader returns a reader of r's bytes that hashes them as they pass
// (never buffering them) and checks them against expected and size.
//
// With a known size (>= 0) it never delivers more than size bytes: reading a
// byte past it fails with ErrSizeMismatch. At the end of r, instead of
// io.EOF, Read returns ErrSizeMismatch when fewer than size bytes came, or
// ErrDigestMismatch when the digest differs; io.EOF means the content is
// verified. Errors are sticky. A zero expected digest fails the first Read
// with ErrInvalidDigest. Close closes r when r is an io.Closer.
//
// Consumers must not commit the content until Read has returned io.EOF.
func VerifyReader(r io.Reader, expected Digest, size int64) io.ReadCloser {
	v := &verifyingReader{src: r, expected: expected, size: size}
	if expected.IsZero() {
		v.err = invalidf(ErrInvalidDigest, "no expected digest to verify against")
	} else {
		v.hash = expected.Algorithm().New()
	}
	return v
}

type verifyingReader struct {
	src      io.Reader
	hash     hash.Hash
	expected Digest
	size     int64 // < 0: unknown
	read     int64
	err      error // sticky verdict
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if v.size >= 0 {
		// Ask for at most one byte past the declared size: enough to see an
		// oversized stream without reading (or hashing) the excess.
		if rem := v.size - v.read + 1; int64(len(p)) > rem {
			p = p[:rem]
		}
	}
	n, err := v.src.Read(p)
	if v.size >= 0 && v.read+int64(n) > v.size {
		n = int(v.size - v.read)
		v.consume(p[:n])
		v.err = invalidf(ErrSizeMismatch, "content is longer than the declared %d bytes", v.size)
		return n, v.err
	}
	v.consume(p[:n])
	if errors.Is(err, io.EOF) {
		v.err = v.verdict()
		return n, v.err
	}
	return n, err
}

func (v *verifyingReader) consume(p []byte) {
	v.hash.Write(p)
	v.read += int64(len(p))
}

// verdict is io.EOF when the content matched, or the reason it did not.
func (v *verifyingReader) verdict() error {
	if v.size >= 0 && v.read != v.size {
		return invalidf(ErrSizeMismatch, "content is %d bytes, declared %d", v.read, v.size)
	}
	if got := FromHash(v.expected.Algorithm(), v.hash); got != v.expected {
		return invalidf(ErrDigestMismatch, "content digest is %s, expected %s", got, v.expected)
	}
	return io.EOF
}

func (v *verifyingReader) Close() error {
	if c, ok := v.src.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
