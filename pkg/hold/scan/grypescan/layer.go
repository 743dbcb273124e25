package grypescan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"atcr.io/pkg/hold/scan"
	"atcr.io/pkg/oci"
)

// hostileError is a fault of the image itself (a bad layer, a hostile
// entry, a limit exceeded): the scan ends as failed with its message as the
// reason. Every other error is the hold's (storage, disk, ctx) and the job
// is tried again later.
type hostileError struct{ reason string }

func (e *hostileError) Error() string { return e.reason }

// hostile returns a hostileError with a formatted reason.
func hostile(format string, args ...any) error {
	return &hostileError{reason: limit(fmt.Sprintf(format, args...))}
}

// verifiedReader reads a blob and checks it against its descriptor: it
// never yields more than Size bytes without failing, and at the end of the
// stream the byte count and the digest must match.
type verifiedReader struct {
	r    io.Reader
	desc oci.Descriptor
	h    hash.Hash
	n    int64
	done bool
}

func newVerifiedReader(r io.Reader, desc oci.Descriptor) *verifiedReader {
	return &verifiedReader{r: r, desc: desc, h: desc.Digest.Algorithm().New()}
}

func (v *verifiedReader) mismatch() error {
	return hostile("layer %s does not match its digest", v.desc.Digest)
}

func (v *verifiedReader) Read(p []byte) (int, error) {
	if v.done {
		return 0, io.EOF
	}
	// Ask for one byte more than the size allows, so a longer blob shows.
	if rest := v.desc.Size - v.n + 1; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := v.r.Read(p)
	v.n += int64(n)
	v.h.Write(p[:n])
	if v.n > v.desc.Size {
		return 0, v.mismatch()
	}
	if errors.Is(err, io.EOF) {
		if v.n != v.desc.Size || !bytes.Equal(v.h.Sum(nil), digestBytes(v.desc.Digest)) {
			return n, v.mismatch()
		}
		v.done = true
	}
	return n, err
}

// digestBytes decodes a validated digest's hex.
func digestBytes(d oci.Digest) []byte {
	out := make([]byte, len(d.Hex())/2)
	for i := range out {
		out[i] = unhex(d.Hex()[2*i])<<4 | unhex(d.Hex()[2*i+1])
	}
	return out
}

func unhex(c byte) byte {
	if c >= 'a' {
		return c - 'a' + 10
	}
	return c - '0'
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// bombGuard fails a layer whose tar stream is far larger than its
// compressed bytes: a decompression bomb is stopped after MinBombBytes
// instead of after it has filled the disk.
type bombGuard struct {
	r          io.Reader // the decompressed tar stream
	compressed *countingReader
	digest     oci.Digest
	ratio      int64
	floor      int64
	n          int64
}

func (g *bombGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	g.n += int64(n)
	if g.ratio > 0 && g.n > g.floor && g.n > g.ratio*g.compressed.n {
		return 0, hostile("layer %s expands more than %d times when decompressed (a decompression bomb)", g.digest, g.ratio)
	}
	return n, err
}

// layerStream is an open layer: its tar stream, verified and guarded.
type layerStream struct {
	tar      io.Reader
	verified *verifiedReader
	closers  []func() error
}

// drain reads what the tar reader left (padding, the compressor's
// trailer) so the digest check at the end of the blob runs.
func (l *layerStream) drain() error {
	_, err := io.Copy(io.Discard, l.verified)
	return err
}

func (l *layerStream) Close() error {
	var errs []error
	for i := len(l.closers) - 1; i >= 0; i-- {
		errs = append(errs, l.closers[i]())
	}
	return errors.Join(errs...)
}

// openLayer opens a layer blob as a verified, decompressed tar stream.
func (s *Scanner) openLayer(ctx context.Context, blobs scan.Blobs, desc oci.Descriptor) (*layerStream, error) {
	comp, ok := imageLayerTypes[desc.MediaType]
	if !ok {
		return nil, hostile("layer %s has media type %s, which is not a tar layer", desc.Digest, desc.MediaType)
	}
	if desc.Size < 0 {
		return nil, hostile("layer %s has a negative size", desc.Digest)
	}
	rc, err := blobs.Open(ctx, desc.Digest)
	if err != nil {
		return nil, fmt.Errorf("open layer %s: %w", desc.Digest, err)
	}
	l := &layerStream{closers: []func() error{rc.Close}}
	l.verified = newVerifiedReader(&storageReader{ctx: ctx, r: rc}, desc)
	compressed := &countingReader{r: l.verified}
	var tarStream io.Reader
	switch comp {
	case compressionGzip:
		zr, err := gzip.NewReader(compressed)
		if err != nil {
			l.Close()
			var h *hostileError
			if errors.As(err, &h) {
				return nil, err
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, hostile("layer %s is not gzip-compressed as its media type says: %v", desc.Digest, err)
		}
		l.closers = append(l.closers, zr.Close)
		tarStream = zr
	case compressionZstd:
		zr, err := zstd.NewReader(compressed,
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxZstdWindow))
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("zstd reader: %w", err)
		}
		l.closers = append(l.closers, func() error { zr.Close(); return nil })
		tarStream = zr
	default:
		tarStream = compressed
	}
	l.tar = &bombGuard{r: tarStream, compressed: compressed, digest: desc.Digest,
		ratio: s.opts.MaxRatio, floor: s.opts.MinBombBytes}
	return l, nil
}

// maxZstdWindow bounds the memory a zstd layer may ask for (the format
// lets a stream demand windows of gigabytes).
const maxZstdWindow = 64 << 20
