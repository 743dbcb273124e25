package s3test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

// walkBlobCount is above S3's 1000-key page, so WalkBlobs must paginate.
const walkBlobCount = 1100

func testWalkBlobs(t *testing.T, svc *s3.S3Service) {
	ctx := t.Context()
	want := putBlobs(t, svc, walkBlobCount)
	sha512Blob := []byte("a sha512 blob")
	d512 := oci.FromBytes(oci.SHA512, sha512Blob)
	want[d512] = int64(len(sha512Blob))

	// Keys under blobs/ that are not blob keys, and one outside the prefix:
	// the walk must skip them all without failing.
	hexA := strings.Repeat("ab", 32)
	junk := []string{
		"blobs/README",
		"blobs/sha1/ab/" + strings.Repeat("ab", 20) + "/data",
		"blobs/sha256/00/" + strings.Repeat("ff", 32) + "/data", // fan-out mismatch
		"blobs/sha256/AB/" + strings.ToUpper(hexA) + "/data",    // uppercase hex
		"blobs/sha256/ab/" + hexA + "/data.partial",
		"blobs/sha256/ab/short/data",
		"uploads/not-a-blob/data",
	}
	for _, k := range append(junk, s3.BlobKey(d512)) {
		data := []byte("junk")
		if k == s3.BlobKey(d512) {
			data = sha512Blob
		}
		if err := svc.PutBytes(ctx, k, data); err != nil {
			t.Fatalf("PutBytes %s: %v", k, err)
		}
	}

	seen := map[oci.Digest]int64{}
	err := svc.WalkBlobs(ctx, func(b s3.BlobInfo) error {
		if _, dup := seen[b.Digest]; dup {
			t.Errorf("WalkBlobs reported %s twice", b.Digest)
		}
		if b.Key != s3.BlobKey(b.Digest) {
			t.Errorf("BlobInfo key %q does not match digest %s", b.Key, b.Digest)
		}
		seen[b.Digest] = b.Size
		return nil
	})
	if err != nil {
		t.Fatalf("WalkBlobs: %v", err)
	}
	if len(seen) != len(want) {
		t.Errorf("WalkBlobs saw %d blobs, want %d", len(seen), len(want))
	}
	for d, size := range want {
		if got, ok := seen[d]; !ok || got != size {
			t.Errorf("blob %s: walked size %d (seen %v), want %d", d, got, ok, size)
		}
	}

	calls := 0
	if err := svc.WalkBlobs(ctx, func(s3.BlobInfo) error {
		calls++
		if calls == 10 {
			return s3.ErrStopWalk
		}
		return nil
	}); err != nil || calls != 10 {
		t.Errorf("WalkBlobs stopped with ErrStopWalk: err = %v after %d calls, want nil after 10", err, calls)
	}
	boom := errors.New("boom")
	if err := svc.WalkBlobs(ctx, func(s3.BlobInfo) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("WalkBlobs callback error: got %v, want it returned", err)
	}
}

// putBlobs stores n content-addressed blobs of varying sizes, a few at a
// time, and returns digest → size.
func putBlobs(t *testing.T, svc *s3.S3Service, n int) map[oci.Digest]int64 {
	t.Helper()
	want := make(map[oci.Digest]int64, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	jobs := make(chan int)
	errs := make(chan error, 1)
	for range 8 {
		wg.Go(func() {
			for i := range jobs {
				data := Pattern(uint64(i), 1+i%97)
				d := oci.FromBytes(oci.SHA256, data)
				if err := svc.PutBytes(t.Context(), s3.BlobKey(d), data); err != nil {
					select {
					case errs <- err:
					default:
					}
					continue
				}
				mu.Lock()
				want[d] = int64(len(data))
				mu.Unlock()
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatalf("PutBytes: %v", err)
	default:
	}
	if len(want) != n {
		t.Fatalf("stored %d distinct blobs, want %d", len(want), n)
	}
	return want
}

func testListPrefix(t *testing.T, svc *s3.S3Service) {
	ctx := t.Context()
	svc.ListPageSize = 2 // force several pages for a handful of keys
	keys := []string{"uploads/a/1", "uploads/a/2", "uploads/a/3", "uploads/a/4", "uploads/a/5"}
	others := []string{"uploads/ab/1", "uploads/b/1", "blobs/x"}
	for i, k := range append(keys, others...) {
		if err := svc.PutBytes(ctx, k, Pattern(uint64(i), i+1)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	err := svc.ListPrefix(ctx, "uploads/a/", func(o s3.ObjectInfo) error {
		got = append(got, o.Key)
		if want := int64(len(got)); o.Size != want {
			t.Errorf("%s: size %d, want %d", o.Key, o.Size, want)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ListPrefix: %v", err)
	}
	if strings.Join(got, ",") != strings.Join(keys, ",") {
		t.Errorf("ListPrefix(uploads/a/) = %v, want %v in order", got, keys)
	}
	total := 0
	if err := svc.ListPrefix(ctx, "", func(s3.ObjectInfo) error { total++; return nil }); err != nil || total != len(keys)+len(others) {
		t.Errorf("ListPrefix(\"\") listed %d (err %v), want %d", total, err, len(keys)+len(others))
	}
	n := 0
	if err := svc.ListPrefix(ctx, "uploads/", func(s3.ObjectInfo) error {
		if n++; n == 3 {
			return s3.ErrStopWalk
		}
		return nil
	}); err != nil || n != 3 {
		t.Errorf("ListPrefix with ErrStopWalk: err %v after %d calls, want nil after 3", err, n)
	}
}
