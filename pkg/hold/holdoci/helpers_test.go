package holdoci

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

const mib = 1 << 20

type part = atcr.HoldCompleteUpload_Part

func (e *testEnv) initiate(t testing.TB, caller syntax.DID, digest string) string {
	t.Helper()
	var out atcr.HoldInitiateUpload_Output
	e.call(t, caller, atcr.HoldInitiateUploadNSID, atcr.HoldInitiateUpload_Input{Digest: digest}, &out)
	if err := s3.ValidateUploadID(out.UploadID); err != nil || len(out.UploadID) != 32 {
		t.Fatalf("uploadId %q is not 32 hex characters: %v", out.UploadID, err)
	}
	return out.UploadID
}

// partURL asks for the URL of part n of size bytes, as the AppView does.
func (e *testEnv) partURL(t testing.TB, caller syntax.DID, id string, n, size int) string {
	t.Helper()
	var out atcr.HoldGetPartUploadURL_Output
	sz := int64(size)
	e.call(t, caller, atcr.HoldGetPartUploadURLNSID, atcr.HoldGetPartUploadURL_Input{UploadID: id, PartNumber: int64(n), Size: &sz}, &out)
	if out.Method != http.MethodPut {
		t.Fatalf("method %q, want PUT", out.Method)
	}
	return out.URL
}

// sendPart sends data as part n to the URL the hold hands out for it and
// returns the ETag.
func (e *testEnv) sendPart(t testing.TB, caller syntax.DID, id string, n int, data []byte) string {
	t.Helper()
	return putPart(t, e.partURL(t, caller, id, n, len(data)), data)
}

// putPart PUTs a part with plain net/http, as the AppView does, and returns
// the ETag header.
func putPart(t testing.TB, rawURL string, data []byte) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, rawURL, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT part: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT part: %d %s", resp.StatusCode, body)
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("PUT part: no ETag")
	}
	return etag
}

// holdPart sends a part through io.atcr.hold.uploadPart.
func (e *testEnv) holdPart(t testing.TB, caller syntax.DID, method, id string, n int, data []byte) response {
	t.Helper()
	q := url.Values{"uploadId": {id}, "partNumber": {strconv.Itoa(n)}}
	return e.do(t, caller, method, "/xrpc/"+atcr.HoldUploadPartNSID+"?"+q.Encode(), bytes.NewReader(data), int64(len(data)))
}

func (e *testEnv) complete(t testing.TB, caller syntax.DID, id, digest string, parts []part) response {
	t.Helper()
	return e.post(t, caller, atcr.HoldCompleteUploadNSID, atcr.HoldCompleteUpload_Input{UploadID: id, Digest: digest, Parts: parts})
}

// pushPresigned uploads data in parts of the given sizes through presigned
// URLs and returns the session ID and the parts to complete with.
func (e *testEnv) pushPresigned(t testing.TB, caller syntax.DID, data []byte, sizes ...int) (string, []part) {
	t.Helper()
	id := e.initiate(t, caller, "")
	var parts []part
	off := 0
	for i, n := range sizes {
		etag := e.sendPart(t, caller, id, i+1, data[off:off+n])
		parts = append(parts, part{PartNumber: int64(i + 1), ETag: etag})
		off += n
	}
	if off != len(data) {
		t.Fatalf("part sizes add up to %d, data is %d", off, len(data))
	}
	return id, parts
}

// storeBlob pushes data as one part and completes it under alg.
func (e *testEnv) storeBlob(t testing.TB, caller syntax.DID, alg oci.Algorithm, data []byte) oci.Digest {
	t.Helper()
	d := oci.FromBytes(alg, data)
	id, parts := e.pushPresigned(t, caller, data, len(data))
	resp := e.complete(t, caller, id, d.String(), parts)
	if resp.status != http.StatusOK {
		t.Fatalf("complete: %d %s %s", resp.status, resp.errName, resp.message)
	}
	return d
}

// wantBlob checks the bytes stored at the digest's key.
func (e *testEnv) wantBlob(t testing.TB, d oci.Digest, want []byte) {
	t.Helper()
	body, info, err := e.svc.Open(t.Context(), s3.BlobKey(d))
	if err != nil {
		t.Fatalf("open blob %s: %v", d, err)
	}
	defer body.Close()
	h := oci.NewHasher(d.Algorithm())
	if _, err := io.Copy(h, body); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.Digest(d.Algorithm()); got != d || info.Size != int64(len(want)) || h.Size() != int64(len(want)) {
		t.Fatalf("blob at %s: digest %s, size %d (header %d), want %d bytes", d, got, h.Size(), info.Size, len(want))
	}
	if got := oci.FromBytes(d.Algorithm(), want); got != d {
		t.Fatalf("test data digest %s != %s", got, d)
	}
}

// wantNoObject checks that nothing is stored at key.
func (e *testEnv) wantNoObject(t testing.TB, key string) {
	t.Helper()
	if _, err := e.svc.Stat(t.Context(), key); !errors.Is(err, s3.ErrNotFound) {
		t.Fatalf("stat %s: %v, want not found", key, err)
	}
}

func stagingKey(t testing.TB, id string) string {
	t.Helper()
	key, err := s3.UploadKey(id)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func errorsIsNotFound(err error) bool { return errors.Is(err, s3.ErrNotFound) }

// dirEntries lists the names in dir.
func dirEntries(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, err
}
