package oci

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestVerifyReader(t *testing.T) {
	content := []byte("the quick brown fox jumps over the lazy dog")
	good := FromBytes(SHA256, content)
	good512 := FromBytes(SHA512, content)
	size := int64(len(content))
	tests := []struct {
		name     string
		src      io.Reader
		digest   Digest
		size     int64
		want     error // nil: verified
		maxBytes int   // most bytes the caller may see
	}{
		{"exact", bytes.NewReader(content), good, size, nil, len(content)},
		{"sha512", bytes.NewReader(content), good512, size, nil, len(content)},
		{"unknown size", bytes.NewReader(content), good, SizeUnknown, nil, len(content)},
		{"one byte at a time", iotest.OneByteReader(bytes.NewReader(content)), good, size, nil, len(content)},
		{"data with EOF", iotest.DataErrReader(bytes.NewReader(content)), good, size, nil, len(content)},
		{"wrong digest", bytes.NewReader(content), FromBytes(SHA256, []byte("other")), size, ErrDigestMismatch, len(content)},
		{"wrong digest, unknown size", bytes.NewReader(content), FromBytes(SHA256, []byte("x")), SizeUnknown, ErrDigestMismatch, len(content)},
		{"short", bytes.NewReader(content[:10]), good, size, ErrSizeMismatch, 10},
		{"long", bytes.NewReader(append(bytes.Clone(content), "trailing"...)), good, size, ErrSizeMismatch, len(content)},
		// The first size bytes are right; the excess must still fail.
		{"long, one byte at a time", iotest.OneByteReader(bytes.NewReader(append(bytes.Clone(content), 'x'))), good, size, ErrSizeMismatch, len(content)},
		{"empty", strings.NewReader(""), FromBytes(SHA256, nil), 0, nil, 0},
		{"empty but expected bytes", strings.NewReader(""), good, size, ErrSizeMismatch, 0},
		{"zero size but got bytes", bytes.NewReader(content), FromBytes(SHA256, nil), 0, ErrSizeMismatch, 0},
		{"no expected digest", bytes.NewReader(content), Digest{}, size, ErrInvalidDigest, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := io.ReadAll(VerifyReader(tt.src, tt.digest, tt.size))
			if tt.want == nil && err != nil {
				t.Fatalf("ReadAll: %v", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("ReadAll error = %v, want %v", err, tt.want)
			}
			if len(got) > tt.maxBytes || !bytes.HasPrefix(content, got) {
				t.Errorf("delivered %d bytes (%q…), want a prefix of the content of at most %d", len(got), truncate(string(got)), tt.maxBytes)
			}
			if tt.want == nil && len(got) != tt.maxBytes {
				t.Errorf("verified read delivered %d bytes, want %d", len(got), tt.maxBytes)
			}
		})
	}
}

func TestVerifyReaderSemantics(t *testing.T) {
	content := bytes.Repeat([]byte("0123456789"), 1000)
	// iotest.TestReader checks Read contracts (short buffers, EOF handling).
	if err := iotest.TestReader(VerifyReader(bytes.NewReader(content), FromBytes(SHA256, content), int64(len(content))), content); err != nil {
		t.Error(err)
	}

	// Errors are sticky, and an oversized stream is not read past size+1.
	src := &countingReader{r: endless{}}
	vr := VerifyReader(src, FromBytes(SHA256, content), 100)
	if _, err := io.ReadAll(vr); !errors.Is(err, ErrSizeMismatch) {
		t.Fatalf("endless source: %v", err)
	}
	if src.n > 101 {
		t.Errorf("read %d bytes from the source for a 100-byte blob", src.n)
	}
	if n, err := vr.Read(make([]byte, 10)); n != 0 || !errors.Is(err, ErrSizeMismatch) {
		t.Errorf("Read after failure = %d, %v", n, err)
	}

	// Transport errors pass through unchanged.
	boom := errors.New("connection reset")
	if _, err := io.ReadAll(VerifyReader(iotest.ErrReader(boom), FromBytes(SHA256, nil), 0)); !errors.Is(err, boom) {
		t.Errorf("transport error = %v", err)
	}
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func TestVerifyReaderClose(t *testing.T) {
	src := &closeRecorder{Reader: strings.NewReader("x")}
	if err := VerifyReader(src, FromBytes(SHA256, []byte("x")), 1).Close(); err != nil || !src.closed {
		t.Errorf("Close = %v, closed = %v", err, src.closed)
	}
	if err := VerifyReader(strings.NewReader("x"), FromBytes(SHA256, []byte("x")), 1).Close(); err != nil {
		t.Errorf("Close of a non-Closer = %v", err)
	}
}

func BenchmarkVerifyReader(b *testing.B) {
	content := bytes.Repeat([]byte{0x5a}, 32<<20)
	for _, alg := range []Algorithm{SHA256, SHA512} {
		want := FromBytes(alg, content)
		b.Run(string(alg), func(b *testing.B) {
			b.SetBytes(int64(len(content)))
			for b.Loop() {
				vr := VerifyReader(bytes.NewReader(content), want, int64(len(content)))
				if _, err := io.Copy(io.Discard, vr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
