package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// abortTimeout bounds the clean-up of a failed upload, which runs even when
// the caller's context is already cancelled.
const abortTimeout = 30 * time.Second

// Put streams r to key and returns the number of bytes stored. An input no
// larger than PutPartSize goes up in one PutObject; a larger one becomes a
// multipart upload of PutPartSize parts with at most PutConcurrency parts in
// flight. Memory stays at PutConcurrency × PutPartSize whatever the input
// size, so a multi-GiB layer never sits in memory whole. The largest input is
// MaxParts × PutPartSize (156 GiB at the 16 MiB default). On error the
// multipart upload is aborted and nothing is left at key.
func (s *S3Service) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	if err := validateKey(key); err != nil {
		return 0, fmt.Errorf("put: %w", err)
	}
	partSize := max(s.PutPartSize, MinPartSize)
	first := make([]byte, partSize)
	n, err := io.ReadFull(r, first)
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		if err := s.putObject(ctx, key, first[:n]); err != nil {
			return 0, fmt.Errorf("put %s: %w", key, err)
		}
		return int64(n), nil
	case err != nil:
		return 0, fmt.Errorf("put %s: read input: %w", key, err)
	}
	total, err := s.putMultipart(ctx, key, r, first, max(s.PutConcurrency, 1))
	if err != nil {
		return 0, fmt.Errorf("put %s: %w", key, err)
	}
	return total, nil
}

// putMultipart uploads first (already full) and the rest of r as parts of
// len(first) bytes. Buffers circulate through a pool of `workers` slices, so
// the reader blocks while every buffer is on the wire.
func (s *S3Service) putMultipart(ctx context.Context, key string, r io.Reader, first []byte, workers int) (int64, error) {
	uploadID, err := s.CreateMultipartUpload(ctx, key)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	pool := make(chan []byte, workers)
	for range workers - 1 {
		pool <- make([]byte, len(first))
	}
	var (
		mu       sync.Mutex
		parts    []Part
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
	}
	send := func(num int32, buf []byte, n int) {
		wg.Go(func() {
			defer func() { pool <- buf }()
			p, err := s.uploadPart(ctx, key, uploadID, num, bytes.NewReader(buf[:n]))
			if err != nil {
				fail(err)
				return
			}
			mu.Lock()
			parts = append(parts, p)
			mu.Unlock()
		})
	}

	var total int64
	buf, n, num := first, len(first), int32(1)
	for {
		send(num, buf, n)
		total += int64(n)
		if n < len(buf) { // short read: that was the last part
			break
		}
		select {
		case buf = <-pool:
		case <-ctx.Done():
			fail(ctx.Err())
		}
		if ctx.Err() != nil {
			break
		}
		n, err = io.ReadFull(r, buf)
		if errors.Is(err, io.EOF) {
			pool <- buf
			break
		}
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			pool <- buf
			fail(fmt.Errorf("read input: %w", err))
			break
		}
		if num++; num > MaxParts {
			pool <- buf
			fail(fmt.Errorf("input exceeds %d parts of %d bytes", MaxParts, len(buf)))
			break
		}
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = s.CompleteMultipartUpload(ctx, key, uploadID, parts)
	}
	if firstErr != nil {
		s.abortQuietly(ctx, key, uploadID)
		return 0, firstErr
	}
	return total, nil
}

// abortQuietly aborts a failed upload on a context that outlives the caller's
// cancellation, logging (not returning) a failure: the original error is the
// one that matters, and an upload left behind is reaped by lifecycle rules or
// the hold's expiry sweep.
func (s *S3Service) abortQuietly(ctx context.Context, key, uploadID string) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	if err := s.AbortMultipartUpload(actx, key, uploadID); err != nil {
		s.Logger.Warn("abort multipart upload after failure", "key", key, "error", err)
	}
}
