package embedded

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"atcr.io/pkg/s3"
)

// partsOf cuts data into parts of size each (the last shorter).
func partsOf(data []byte, size int) [][]byte {
	var parts [][]byte
	for len(data) > size {
		parts = append(parts, data[:size])
		data = data[size:]
	}
	return append(parts, data)
}

// randomBytes returns n bytes that differ per seed.
func randomBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// uploadParts sends parts (numbered from 1) in the order given.
func uploadParts(t *testing.T, svc *s3.S3Service, key, id string, parts [][]byte, order []int) []s3.Part {
	t.Helper()
	out := make([]s3.Part, len(parts))
	for _, i := range order {
		p, err := svc.UploadPart(t.Context(), key, id, int32(i+1), bytes.NewReader(parts[i]))
		if err != nil {
			t.Fatalf("part %d: %v", i+1, err)
		}
		out[i] = p
	}
	return out
}

func readObject(t *testing.T, svc *s3.S3Service, key string) []byte {
	t.Helper()
	rc, _, err := svc.Open(t.Context(), key)
	if err != nil {
		t.Fatalf("open %s: %v", key, err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return got
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// assemblyFiles lists what is left in the assembly directory.
func assemblyFiles(t *testing.T, dataDir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dataDir, assemblyDirName))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// assemblyEmptied waits (up to 5 s) for the part files a completion set
// aside to be removed, and returns what is left.
func assemblyEmptied(t *testing.T, dataDir string) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := assemblyFiles(t, dataDir)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A staging object's parts sent in the usual pattern are assembled in
// place: the object has every byte in order, keeps its metadata, its
// SHA-256 is known without reading it back (once, and only while the file
// is the one assembled), and nothing is left in the assembly directory.
func TestAssemblyInPlace(t *testing.T) {
	for _, sidecar := range []bool{false, true} {
		name := map[bool]string{false: "xattrs", true: "sidecar"}[sidecar]
		t.Run(name, func(t *testing.T) {
			if sidecar {
				forceSideCar = true
				t.Cleanup(func() { forceSideCar = false })
			}
			dir := t.TempDir()
			srv := startServer(t, Options{DataDir: dir, ChecksumETags: true})
			svc := service(t, srv)
			ctx := t.Context()
			key := "uploads/inplace/data"
			data := randomBytes(2*s3.MinPartSize+1234, 1)
			id, err := svc.CreateMultipartUpload(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			parts := uploadParts(t, svc, key, id, partsOf(data, s3.MinPartSize), []int{0, 1, 2})
			if err := svc.CompleteMultipartUpload(ctx, key, id, parts); err != nil {
				t.Fatalf("complete: %v", err)
			}
			if got := readObject(t, svc, key); !bytes.Equal(got, data) {
				t.Fatalf("object: %d bytes, want %d, equal %v", len(got), len(data), bytes.Equal(got, data))
			}
			info, err := svc.Stat(ctx, key)
			if err != nil || info.Size != int64(len(data)) || info.ETag == "" {
				t.Fatalf("stat after assembly in place: %+v, %v", info, err)
			}
			sum, size, ok := srv.StagedSHA256(key)
			if !ok || sum != sha256Hex(data) || size != int64(len(data)) {
				t.Fatalf("StagedSHA256 = %q, %d, %v; want %q, %d, true", sum, size, ok, sha256Hex(data), len(data))
			}
			if _, _, ok := srv.StagedSHA256(key); ok {
				t.Fatal("StagedSHA256 answered twice")
			}
			if left := assemblyEmptied(t, dir); len(left) != 0 {
				t.Fatalf("assembly directory still holds %v", left)
			}
		})
	}
}

// A staged digest is only good for the file it was computed for: once the
// object is replaced, the hold must read it back.
func TestStagedDigestForgottenWhenObjectReplaced(t *testing.T) {
	srv := startServer(t, Options{DataDir: t.TempDir(), ChecksumETags: true})
	svc := service(t, srv)
	ctx := t.Context()
	key := "uploads/replaced/data"
	data := randomBytes(s3.MinPartSize+10, 2)
	id, err := svc.CreateMultipartUpload(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	parts := uploadParts(t, svc, key, id, partsOf(data, s3.MinPartSize), []int{0, 1})
	if err := svc.CompleteMultipartUpload(ctx, key, id, parts); err != nil {
		t.Fatal(err)
	}
	other := randomBytes(len(data), 3)
	if err := svc.PutBytes(ctx, key, other); err != nil {
		t.Fatal(err)
	}
	if sum, _, ok := srv.StagedSHA256(key); ok {
		t.Fatalf("StagedSHA256 = %q for a replaced object", sum)
	}
}

// Uploads outside the usual pattern complete the old way, from their part
// files, and give no staged digest — but always the right bytes.
func TestAssemblyFallsBack(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, Options{DataDir: dir, ChecksumETags: true})
	svc := service(t, srv)
	ctx := t.Context()
	size := s3.MinPartSize

	cases := []struct {
		name    string
		key     string
		inPlace bool
		run     func(t *testing.T, key, id string) (want []byte, parts []s3.Part)
	}{{
		name: "parts after the first arrive out of order", key: "uploads/order/data", inPlace: true,
		run: func(t *testing.T, key, id string) ([]byte, []s3.Part) {
			data := randomBytes(3*size+99, 4)
			return data, uploadParts(t, svc, key, id, partsOf(data, size), []int{0, 3, 2, 1})
		},
	}, {
		name: "a later part before the first", key: "uploads/first-late/data", inPlace: true,
		run: func(t *testing.T, key, id string) ([]byte, []s3.Part) {
			data := randomBytes(2*size+7, 5)
			return data, uploadParts(t, svc, key, id, partsOf(data, size), []int{1, 0, 2})
		},
	}, {
		name: "the short last part before the first", key: "uploads/last-first/data",
		run: func(t *testing.T, key, id string) ([]byte, []s3.Part) {
			data := randomBytes(2*size+7, 14)
			return data, uploadParts(t, svc, key, id, partsOf(data, size), []int{2, 0, 1})
		},
	}, {
		name: "a part larger than the first one seen", key: "uploads/larger-later/data",
		run: func(t *testing.T, key, id string) ([]byte, []s3.Part) {
			a, b, c := randomBytes(size+100, 15), randomBytes(size, 16), randomBytes(size+100, 17)
			return append(append(append([]byte(nil), a...), b...), c...),
				uploadParts(t, svc, key, id, [][]byte{a, b, c}, []int{1, 2, 0})
		},
	}, {
		name: "a part sent again with other bytes", key: "uploads/resent/data",
		run: func(t *testing.T, key, id string) ([]byte, []s3.Part) {
			data := randomBytes(2*size+7, 6)
			chunks := partsOf(data, size)
			uploadParts(t, svc, key, id, [][]byte{chunks[0], randomBytes(size, 7)}, []int{0, 1})
			return data, uploadParts(t, svc, key, id, chunks, []int{1, 2, 0}) // part 1 again too
		},
	}, {
		name: "parts of unequal sizes", key: "uploads/unequal/data",
		run: func(t *testing.T, key, id string) ([]byte, []s3.Part) {
			a, b, c := randomBytes(size+100, 8), randomBytes(size, 9), randomBytes(10, 10)
			return append(append(append([]byte(nil), a...), b...), c...),
				uploadParts(t, svc, key, id, [][]byte{a, b, c}, []int{0, 1, 2})
		},
	}, {
		name: "completion lists fewer parts than were sent", key: "uploads/subset/data",
		run: func(t *testing.T, key, id string) ([]byte, []s3.Part) {
			data := randomBytes(3*size, 11)
			parts := uploadParts(t, svc, key, id, partsOf(data, size), []int{0, 1, 2})
			return data[:2*size], parts[:2]
		},
	}, {
		name: "not a staging object", key: "blobs/elsewhere/data",
		run: func(t *testing.T, key, id string) ([]byte, []s3.Part) {
			data := randomBytes(size+5, 12)
			return data, uploadParts(t, svc, key, id, partsOf(data, size), []int{0, 1})
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, err := svc.CreateMultipartUpload(ctx, tc.key)
			if err != nil {
				t.Fatal(err)
			}
			want, parts := tc.run(t, tc.key, id)
			if err := svc.CompleteMultipartUpload(ctx, tc.key, id, parts); err != nil {
				t.Fatalf("complete: %v", err)
			}
			if got := readObject(t, svc, tc.key); !bytes.Equal(got, want) {
				t.Fatalf("object: %d bytes, want %d, equal %v", len(got), len(want), bytes.Equal(got, want))
			}
			sum, n, ok := srv.StagedSHA256(tc.key)
			if ok != tc.inPlace || (ok && (sum != sha256Hex(want) || n != int64(len(want)))) {
				t.Fatalf("StagedSHA256 = %q, %d, %v; want in place %v with %q", sum, n, ok, tc.inPlace, sha256Hex(want))
			}
		})
	}
	if left := assemblyEmptied(t, dir); len(left) != 0 {
		t.Fatalf("assembly directory still holds %v", left)
	}
}

// Parts sent at once (the AppView sends two at a time, and part 2 often
// arrives first) are assembled in place and hashed in order whatever order
// they arrive and finish in; the short last part comes after them.
func TestAssemblyConcurrentParts(t *testing.T) {
	srv := startServer(t, Options{DataDir: t.TempDir(), ChecksumETags: true})
	svc := service(t, srv)
	ctx := t.Context()
	key := "uploads/concurrent/data"
	data := randomBytes(6*s3.MinPartSize+321, 13)
	chunks := partsOf(data, s3.MinPartSize)
	id, err := svc.CreateMultipartUpload(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	parts := make([]s3.Part, len(chunks))
	var wg sync.WaitGroup
	errs := make([]error, len(chunks))
	last := len(chunks) - 1
	for i := range last {
		wg.Go(func() {
			parts[i], errs[i] = svc.UploadPart(ctx, key, id, int32(i+1), bytes.NewReader(chunks[i]))
		})
	}
	wg.Wait()
	parts[last], errs[last] = svc.UploadPart(ctx, key, id, int32(last+1), bytes.NewReader(chunks[last]))
	for i, err := range errs {
		if err != nil {
			t.Fatalf("part %d: %v", i+1, err)
		}
	}
	if err := svc.CompleteMultipartUpload(ctx, key, id, parts); err != nil {
		t.Fatal(err)
	}
	if got := readObject(t, svc, key); !bytes.Equal(got, data) {
		t.Fatal("object differs from the parts sent")
	}
	if sum, _, ok := srv.StagedSHA256(key); !ok || sum != sha256Hex(data) {
		t.Fatalf("StagedSHA256 = %q, %v; want %q", sum, ok, sha256Hex(data))
	}
}

// An aborted upload leaves no assembly file, and a start clears what a
// crashed process left.
func TestAssemblyAbortAndRestart(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, Options{DataDir: dir, ChecksumETags: true})
	svc := service(t, srv)
	ctx := t.Context()
	key := "uploads/aborted/data"
	id, err := svc.CreateMultipartUpload(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	uploadParts(t, svc, key, id, [][]byte{randomBytes(s3.MinPartSize, 14)}, []int{0})
	if left := assemblyFiles(t, dir); len(left) != 1 {
		t.Fatalf("assembly directory during the upload: %v, want one file", left)
	}
	if err := svc.AbortMultipartUpload(ctx, key, id); err != nil {
		t.Fatal(err)
	}
	if left := assemblyFiles(t, dir); len(left) != 0 {
		t.Fatalf("assembly directory after abort: %v", left)
	}
	// A part for an upload that does not exist keeps nothing either.
	if _, err := svc.UploadPart(ctx, key, "no-such-upload", 1, bytes.NewReader([]byte("x"))); err == nil {
		t.Fatal("a part for an unknown upload was accepted")
	}
	if left := assemblyFiles(t, dir); len(left) != 0 {
		t.Fatalf("assembly directory after a refused part: %v", left)
	}

	ctxStop := t.Context()
	if err := srv.Stop(ctxStop); err != nil {
		t.Fatal(err)
	}
	leftover := filepath.Join(dir, assemblyDirName, "leftover")
	if err := os.WriteFile(leftover, []byte("from a crash"), 0o600); err != nil {
		t.Fatal(err)
	}
	startServer(t, Options{DataDir: dir, ChecksumETags: true})
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Fatalf("a leftover assembly file survived a start: %v", err)
	}
}

// The gateway hands the backend strings that share fasthttp's request
// buffers, which later requests overwrite: an upload's assembly must still
// be found by its key once the first part's request buffer was reused.
func TestAssemblyKeepsItsOwnKey(t *testing.T) {
	if !supportsAssembly {
		t.Skip("no assembly in place on this platform")
	}
	dir := t.TempDir()
	a := newAssemblies(filepath.Join(dir, assemblyDirName), dir, nil, slog.Default())
	buf := []byte("uploads/aliased/data")
	key := unsafe.String(&buf[0], len(buf)) // as fasthttp's zero-copy strings are
	if a.forUpload("atcr", key, "upload-1", true) == nil {
		t.Fatal("no assembly for a staging key")
	}
	copy(buf, "blobs/sha256/ab/abcd")
	if a.forUpload("atcr", "uploads/aliased/data", "upload-1", false) == nil {
		t.Fatal("the upload's assembly is lost once the first request's buffer is reused")
	}
	a.drop("atcr", "upload-1")
}

// failingReader gives n bytes of r, then fails.
type failingReader struct {
	r io.Reader
	n int
}

func (f *failingReader) Read(b []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("client went away")
	}
	if len(b) > f.n {
		b = b[:f.n]
	}
	n, err := f.r.Read(b)
	f.n -= n
	return n, err
}

// The sum follows each part as it is written. A write that fails after
// the hasher may have taken some of its bytes breaks the assembly (the
// upload completes from its parts); one of a part after the one the
// hasher waits for does not. (A failed first write of an upload's only
// part drops the whole assembly: the next write starts a new one.)
func TestAssemblyPartFailingMidway(t *testing.T) {
	srv := startServer(t, Options{DataDir: t.TempDir(), ChecksumETags: true})
	svc := service(t, srv)
	size := s3.MinPartSize
	for _, tc := range []struct {
		name    string
		failing int // the part whose first write fails after 3 MiB
		inPlace bool
	}{
		{name: "the part being hashed", failing: 2, inPlace: false},
		{name: "a part the hasher has not reached", failing: 3, inPlace: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "uploads/midway-" + strconv.Itoa(tc.failing) + "/data"
			id, err := svc.CreateMultipartUpload(t.Context(), key)
			if err != nil {
				t.Fatal(err)
			}
			data := randomBytes(3*size+11, byte(30+tc.failing))
			chunks := partsOf(data, size)
			send := func(i int) s3.Part {
				out, err := uploadPart(t, srv, key, id, int32(i+1), chunks[i], nil)
				if err != nil {
					t.Fatalf("part %d: %v", i+1, err)
				}
				return s3.Part{Number: int32(i + 1), ETag: aws.ToString(out.ETag)}
			}
			parts := make([]s3.Part, len(chunks))
			parts[0] = send(0)
			// Part 1 in the sum: the hasher goes on with part 2 next.
			srv.backend.asm.forUpload(srv.creds.Bucket, key, id, false).hashReady()
			_, err = uploadPart(t, srv, key, id, int32(tc.failing), nil, func(in *awss3.UploadPartInput) {
				in.ContentLength = aws.Int64(int64(len(chunks[tc.failing-1])))
				in.Body = &failingReader{r: bytes.NewReader(randomBytes(len(chunks[tc.failing-1]), 99)), n: 3 << 20}
			})
			if err == nil {
				t.Fatal("a part whose body failed was stored")
			}
			for i := range chunks {
				if parts[i].ETag == "" {
					parts[i] = send(i)
				}
			}
			if err := svc.CompleteMultipartUpload(t.Context(), key, id, parts); err != nil {
				t.Fatalf("complete: %v", err)
			}
			if got := readObject(t, svc, key); !bytes.Equal(got, data) {
				t.Fatal("object differs from the parts sent")
			}
			sum, _, ok := srv.StagedSHA256(key)
			if ok != tc.inPlace || (ok && sum != sha256Hex(data)) {
				t.Fatalf("StagedSHA256 = %q, %v; want in place %v with %q", sum, ok, tc.inPlace, sha256Hex(data))
			}
		})
	}
}
