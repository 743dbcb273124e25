package embedded

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"atcr.io/pkg/s3"
)

// Issue 11: eight clients pushing at once failed about one cycle in 200
// with "[INTERNAL ERROR]: mkdir atcr/uploads/<id>: no such file or
// directory" from CompleteMultipartUpload. Completions create
// uploads/<id>/ under the shared uploads/, while every Move out of
// uploads/ (and every DeleteObject of a staging object) removes the
// directories it leaves empty, uploads/ included when it held only that
// one upload. A creator that found uploads/ and is about to mkdir
// uploads/<id> in it loses uploads/ under its feet.
//
// The hold's traffic, squeezed: each worker stages an upload the way a push
// does (multipart, or one PutObject like a small monolithic upload),
// completes it and moves it to a blob key (or deletes it, as the hold does
// when the blob is already stored), and now and then deletes a blob again
// as garbage collection would, while the others do the same. The objects
// are tiny so that the directory operations, not the copying, fill the
// time; all blobs share one fan-out directory so that blob deletes and
// moves race on it too. Four workers leave uploads/ empty more often than
// eight, which is when the race fires: before the fix this failed every
// time, with about ten failures in its 400 uploads. Every operation must
// succeed, every blob must hold its bytes, and nothing may be left under
// uploads/.
func TestConcurrentStagingAndMoves(t *testing.T) {
	const workers, rounds = 4, 100
	dir := t.TempDir()
	srv := startServer(t, Options{DataDir: dir, ChecksumETags: true})
	svc := service(t, srv)
	ctx := t.Context()

	var (
		mu       sync.Mutex
		failures []string
		wg       sync.WaitGroup
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, fmt.Sprintf(format, args...))
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				data := []byte(fmt.Sprintf("worker %d round %d", w, r))
				staging := fmt.Sprintf("uploads/w%dr%d/data", w, r)
				sum := sha256.Sum256(data)
				hexSum := hex.EncodeToString(sum[:])
				blob := "blobs/sha256/00/" + hexSum + "/data"
				var err error
				if r%3 == 2 {
					err = svc.PutBytes(ctx, staging, data)
				} else {
					err = stageMultipart(t, svc, staging, data)
				}
				if err != nil {
					fail("stage %s: %v", staging, err)
					continue
				}
				if r%5 == 4 {
					if err := svc.Delete(ctx, staging); err != nil {
						fail("delete %s: %v", staging, err)
					}
					continue
				}
				if err := srv.Move(ctx, staging, blob); err != nil {
					fail("move %s: %v", staging, err)
					continue
				}
				rc, _, err := srv.Open(ctx, blob)
				if err != nil {
					fail("open %s: %v", blob, err)
					continue
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || !bytes.Equal(got, data) {
					fail("blob %s holds %q (%v), want %q", blob, got, err, data)
				}
				if r%4 == 3 {
					if err := svc.Delete(ctx, blob); err != nil {
						fail("delete %s: %v", blob, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d staged uploads failed; first: %s", len(failures), workers*rounds, failures[0])
	}
	if left, err := os.ReadDir(filepath.Join(dir, "s3", DefaultBucket, "uploads")); len(left) > 0 || (err != nil && !os.IsNotExist(err)) {
		t.Fatalf("left under uploads/: %d entries, %v", len(left), err)
	}
}

// stageMultipart writes data at key as a one-part multipart upload and
// completes it.
func stageMultipart(t *testing.T, svc *s3.S3Service, key string, data []byte) error {
	ctx := t.Context()
	id, err := svc.CreateMultipartUpload(ctx, key)
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	part, err := svc.UploadPart(ctx, key, id, 1, bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("part: %w", err)
	}
	if err := svc.CompleteMultipartUpload(ctx, key, id, []s3.Part{part}); err != nil {
		return fmt.Errorf("complete: %w", err)
	}
	return nil
}
