package holdoci

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/serviceauth"
	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

func TestPresignedThreePartUpload(t *testing.T) {
	e := newEnv(t)
	data := randomBytes(1, 12*mib)
	d := oci.FromBytes(oci.SHA256, data)
	id, parts := e.pushPresigned(t, alice, data, 5*mib, 5*mib, 2*mib)

	var out atcr.HoldCompleteUpload_Output
	resp := e.complete(t, alice, id, d.String(), parts)
	if resp.status != http.StatusOK {
		t.Fatalf("complete: %d %s %s", resp.status, resp.errName, resp.message)
	}
	decodeOutput(t, atcr.HoldCompleteUploadNSID, resp.body, &out)
	if out.Status != "completed" || out.Digest != d.String() || out.Size != int64(len(data)) {
		t.Fatalf("output %+v, want completed %s %d", out, d, len(data))
	}
	e.wantBlob(t, d, data)
	e.wantNoObject(t, stagingKey(t, id))

	// The session is gone: completing again knows no such upload.
	wantError(t, e.complete(t, alice, id, d.String(), parts), http.StatusBadRequest, atcr.ErrorInvalidUploadId)
}

// With the embedded server as Options.Staging (cmd/hold's set-up), the
// verified upload is read from its file and renamed to its blob key; a
// mismatch is never moved.
func TestVerifiedUploadIsMovedByTheMover(t *testing.T) {
	moves := &countingMover{}
	e := newEnv(t, withEmbeddedMover, func(c *envConfig) {
		c.modify = func(o *Options) { moves.next = o.Staging; o.Staging = moves }
	})
	data := randomBytes(11, 7*mib)
	d := oci.FromBytes(oci.SHA256, data)
	id, parts := e.pushPresigned(t, alice, data, 5*mib, 2*mib)
	if resp := e.complete(t, alice, id, d.String(), parts); resp.status != http.StatusOK {
		t.Fatalf("complete: %d %s %s", resp.status, resp.errName, resp.message)
	}
	e.wantBlob(t, d, data)
	e.wantNoObject(t, stagingKey(t, id))
	if moves.n != 1 {
		t.Fatalf("%d moves, want 1", moves.n)
	}

	claimed := oci.FromBytes(oci.SHA256, []byte("not these bytes"))
	id, parts = e.pushPresigned(t, alice, randomBytes(12, 1000), 1000)
	wantError(t, e.complete(t, alice, id, claimed.String(), parts), http.StatusBadRequest, atcr.ErrorInvalidDigest)
	e.wantNoObject(t, s3.BlobKey(claimed))
	if moves.n != 1 {
		t.Fatalf("a mismatched upload was moved (%d moves)", moves.n)
	}
}

// countingMover counts the moves it passes on.
type countingMover struct {
	next StagingStore
	n    int
}

func (m *countingMover) Open(ctx context.Context, key string) (io.ReadCloser, s3.ObjectInfo, error) {
	return m.next.Open(ctx, key)
}

func (m *countingMover) Move(ctx context.Context, src, dst string) error {
	m.n++
	return m.next.Move(ctx, src, dst)
}

// The embedded server hashes an upload it assembled in place while the
// parts arrive; the hold takes that digest instead of reading the blob
// back, and still refuses bytes that are not the claimed digest's.
func TestStagedDigestSkipsTheReadBack(t *testing.T) {
	store := &openCounter{}
	e := newEnv(t, withEmbeddedMover, func(c *envConfig) {
		c.modify = func(o *Options) { store.next = o.Staging; o.Staging = store }
	})
	data := randomBytes(21, 12*mib)
	d := oci.FromBytes(oci.SHA256, data)
	id, parts := e.pushPresigned(t, alice, data, 5*mib, 5*mib, 2*mib)
	if resp := e.complete(t, alice, id, d.String(), parts); resp.status != http.StatusOK {
		t.Fatalf("complete: %d %s %s", resp.status, resp.errName, resp.message)
	}
	e.wantBlob(t, d, data)
	if store.staged != 1 || store.opens != 0 {
		t.Fatalf("%d staged digests used, %d read-backs; want 1 and 0", store.staged, store.opens)
	}

	claimed := oci.FromBytes(oci.SHA256, []byte("other bytes"))
	id, parts = e.pushPresigned(t, alice, randomBytes(22, 6*mib), 5*mib, mib)
	wantError(t, e.complete(t, alice, id, claimed.String(), parts), http.StatusBadRequest, atcr.ErrorInvalidDigest)
	e.wantNoObject(t, s3.BlobKey(claimed))
	if store.staged != 2 || store.opens != 0 {
		t.Fatalf("%d staged digests used, %d read-backs; want 2 and 0", store.staged, store.opens)
	}
}

// openCounter passes a StagingStore on, counting read-backs and the staged
// digests it was asked for and had.
type openCounter struct {
	next          StagingStore
	opens, staged int
}

func (c *openCounter) Open(ctx context.Context, key string) (io.ReadCloser, s3.ObjectInfo, error) {
	c.opens++
	return c.next.Open(ctx, key)
}

func (c *openCounter) Move(ctx context.Context, src, dst string) error {
	return c.next.Move(ctx, src, dst)
}

func (c *openCounter) StagedSHA256(key string) (string, int64, bool) {
	sum, size, ok := c.next.(stagedDigester).StagedSHA256(key)
	if ok {
		c.staged++
	}
	return sum, size, ok
}

func TestUploadPartThroughHold(t *testing.T) {
	e := newEnv(t)
	data := randomBytes(2, 12*mib)
	d := oci.FromBytes(oci.SHA256, data)
	id := e.initiate(t, bob, d.String())
	sizes := []int{5 * mib, 5 * mib, 2 * mib}
	// POST is the procedure's method; PUT is what getPartUploadUrl hands out
	// when presigning is off. Both must work.
	methods := []string{http.MethodPost, http.MethodPut, http.MethodPost}
	var parts []part
	off := 0
	for i, n := range sizes {
		resp := e.holdPart(t, bob, methods[i], id, i+1, data[off:off+n])
		if resp.status != http.StatusOK {
			t.Fatalf("uploadPart %d: %d %s %s", i+1, resp.status, resp.errName, resp.message)
		}
		var out atcr.HoldUploadPart_Output
		decodeOutput(t, atcr.HoldUploadPartNSID, resp.body, &out)
		parts = append(parts, part{PartNumber: int64(i + 1), ETag: out.ETag})
		off += n
	}
	resp := e.complete(t, bob, id, d.String(), parts)
	if resp.status != http.StatusOK {
		t.Fatalf("complete: %d %s %s", resp.status, resp.errName, resp.message)
	}
	e.wantBlob(t, d, data)
	e.wantNoObject(t, stagingKey(t, id))
	if entries, _ := dirEntries(e.h.spoolDir); len(entries) != 0 {
		t.Fatalf("spool files left behind: %v", entries)
	}
}

func TestSHA512Upload(t *testing.T) {
	e := newEnv(t)
	data := randomBytes(3, 6*mib+17)
	d := oci.FromBytes(oci.SHA512, data)
	id, parts := e.pushPresigned(t, alice, data, 5*mib, mib+17)
	resp := e.complete(t, alice, id, d.String(), parts)
	if resp.status != http.StatusOK {
		t.Fatalf("complete: %d %s %s", resp.status, resp.errName, resp.message)
	}
	if !strings.HasPrefix(s3.BlobKey(d), "blobs/sha512/") {
		t.Fatalf("blob key %s", s3.BlobKey(d))
	}
	e.wantBlob(t, d, data)
}

func TestWrongDigestStoresNothing(t *testing.T) {
	e := newEnv(t)
	data := randomBytes(4, 300*1024)
	real := oci.FromBytes(oci.SHA256, data)
	claimed := oci.FromBytes(oci.SHA256, []byte("something else"))
	id, parts := e.pushPresigned(t, alice, data, len(data))

	resp := e.complete(t, alice, id, claimed.String(), parts)
	wantError(t, resp, http.StatusBadRequest, atcr.ErrorInvalidDigest)
	if !strings.Contains(resp.message, real.String()) {
		t.Fatalf("message %q does not name the computed digest %s", resp.message, real)
	}
	e.wantNoObject(t, s3.BlobKey(claimed))
	e.wantNoObject(t, s3.BlobKey(real))
	e.wantNoObject(t, stagingKey(t, id))
	wantError(t, e.complete(t, alice, id, real.String(), parts), http.StatusBadRequest, atcr.ErrorInvalidUploadId)
}

func TestExpectedDigestMustMatch(t *testing.T) {
	e := newEnv(t)
	data := randomBytes(5, 1000)
	other := oci.FromBytes(oci.SHA256, []byte("other"))
	id := e.initiate(t, alice, other.String())
	etag := e.sendPart(t, alice, id, 1, data)
	resp := e.complete(t, alice, id, oci.FromBytes(oci.SHA256, data).String(), []part{{PartNumber: 1, ETag: etag}})
	wantError(t, resp, http.StatusBadRequest, atcr.ErrorInvalidDigest)
}

func TestForeignUploadIDIsUnknown(t *testing.T) {
	e := newEnv(t)
	id := e.initiate(t, alice, "")
	etag := e.sendPart(t, alice, id, 1, []byte("alice's bytes"))
	d := oci.FromBytes(oci.SHA256, []byte("alice's bytes")).String()

	for _, bad := range []string{id, "00000000000000000000000000000000", "../../etc", strings.Repeat("a", 200)} {
		wantError(t, e.post(t, bob, atcr.HoldGetPartUploadURLNSID, atcr.HoldGetPartUploadURL_Input{UploadID: bad, PartNumber: 1}),
			http.StatusBadRequest, atcr.ErrorInvalidUploadId)
		wantError(t, e.holdPart(t, bob, http.MethodPost, bad, 1, []byte("x")), http.StatusBadRequest, atcr.ErrorInvalidUploadId)
		wantError(t, e.complete(t, bob, bad, d, []part{{PartNumber: 1, ETag: etag}}), http.StatusBadRequest, atcr.ErrorInvalidUploadId)
		wantError(t, e.post(t, bob, atcr.HoldAbortUploadNSID, atcr.HoldAbortUpload_Input{UploadID: bad}),
			http.StatusBadRequest, atcr.ErrorInvalidUploadId)
	}
	// Bob's attempts left alice's upload intact.
	if resp := e.complete(t, alice, id, d, []part{{PartNumber: 1, ETag: etag}}); resp.status != http.StatusOK {
		t.Fatalf("alice's complete: %d %s %s", resp.status, resp.errName, resp.message)
	}
}

func TestWritePermissionRequired(t *testing.T) {
	e := newEnv(t)
	wantError(t, e.post(t, eve, atcr.HoldInitiateUploadNSID, map[string]any{}), http.StatusForbidden, "Forbidden")
	wantError(t, e.post(t, "", atcr.HoldInitiateUploadNSID, map[string]any{}), http.StatusUnauthorized, atcr.ErrorAuthRequired)
	id := e.initiate(t, alice, "")
	e.auth.mu.Lock()
	delete(e.auth.writers, alice)
	e.auth.mu.Unlock()
	wantError(t, e.post(t, alice, atcr.HoldGetPartUploadURLNSID, atcr.HoldGetPartUploadURL_Input{UploadID: id, PartNumber: 1}),
		http.StatusForbidden, "Forbidden")
	// Cleaning up needs no write permission.
	var out atcr.HoldAbortUpload_Output
	e.call(t, alice, atcr.HoldAbortUploadNSID, atcr.HoldAbortUpload_Input{UploadID: id}, &out)
}

func TestCompleteRefusals(t *testing.T) {
	e := newEnv(t)
	small := []byte("tiny part")
	id := e.initiate(t, alice, "")
	etag1 := e.sendPart(t, alice, id, 1, small)
	etag2 := e.sendPart(t, alice, id, 2, small)
	d := oci.FromBytes(oci.SHA256, append(bytes.Clone(small), small...)).String()

	cases := []struct {
		name   string
		digest string
		parts  []part
		status int
		err    string
	}{
		{"malformed digest", "sha256:abc", []part{{PartNumber: 1, ETag: etag1}}, 400, atcr.ErrorInvalidDigest},
		{"unsupported algorithm", "md5:d41d8cd98f00b204e9800998ecf8427e", []part{{PartNumber: 1, ETag: etag1}}, 400, atcr.ErrorInvalidDigest},
		{"no parts", d, []part{}, 400, atcr.ErrorMissingParts},
		{"descending", d, []part{{PartNumber: 2, ETag: etag2}, {PartNumber: 1, ETag: etag1}}, 400, atcr.ErrorMissingParts},
		{"repeated", d, []part{{PartNumber: 1, ETag: etag1}, {PartNumber: 1, ETag: etag1}}, 400, atcr.ErrorMissingParts},
		{"never uploaded", d, []part{{PartNumber: 1, ETag: etag1}, {PartNumber: 3, ETag: etag2}}, 400, atcr.ErrorMissingParts},
		{"wrong etag", d, []part{{PartNumber: 1, ETag: etag2 + "0"}}, 400, atcr.ErrorMissingParts},
		{"part below 5 MiB", d, []part{{PartNumber: 1, ETag: etag1}, {PartNumber: 2, ETag: etag2}}, 400, atcr.ErrorCompletionFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.complete(t, alice, id, tc.digest, tc.parts), tc.status, tc.err)
		})
	}
	// None of the refusals spent the session: a valid single part completes.
	resp := e.complete(t, alice, id, oci.FromBytes(oci.SHA256, small).String(), []part{{PartNumber: 1, ETag: etag1}})
	if resp.status != http.StatusOK {
		t.Fatalf("complete after refusals: %d %s %s", resp.status, resp.errName, resp.message)
	}
}

func TestPartRequestRefusals(t *testing.T) {
	e := newEnv(t)
	id := e.initiate(t, alice, "")
	for _, n := range []int64{0, 10001, -3} {
		wantError(t, e.post(t, alice, atcr.HoldGetPartUploadURLNSID, map[string]any{"uploadId": id, "partNumber": n}),
			http.StatusBadRequest, atcr.ErrorInvalidPartNumber)
		wantError(t, e.holdPart(t, alice, http.MethodPost, id, int(n), []byte("x")), http.StatusBadRequest, atcr.ErrorInvalidPartNumber)
	}
	wantError(t, e.post(t, alice, atcr.HoldGetPartUploadURLNSID, map[string]any{"uploadId": id}), http.StatusBadRequest, "InvalidRequest")
	// Keys differing only in case would pass the lexicon's check as one
	// value and decode as another (encoding/json folds case).
	for _, variant := range []map[string]any{
		{"uploadId": id, "partNumber": 1, "PartNumber": 0},
		{"uploadId": id, "partNumber": 1, "PartNumber": 4294967298},
		{"uploadId": id, "partNumber": 1, "Size": -5},
	} {
		wantError(t, e.post(t, alice, atcr.HoldGetPartUploadURLNSID, variant), http.StatusBadRequest, "InvalidRequest")
	}
	for _, size := range []int64{-1, maxPartSize + 1} {
		wantError(t, e.post(t, alice, atcr.HoldGetPartUploadURLNSID, map[string]any{"uploadId": id, "partNumber": 1, "size": size}),
			http.StatusBadRequest, "InvalidRequest")
	}
	wantError(t, e.post(t, alice, atcr.HoldInitiateUploadNSID, map[string]any{"digest": "sha256:nothex"}), http.StatusBadRequest, atcr.ErrorInvalidDigest)

	// A chunked body has no Content-Length.
	resp := e.do(t, alice, http.MethodPost, "/xrpc/"+atcr.HoldUploadPartNSID+"?uploadId="+id+"&partNumber=1",
		strings.NewReader("chunked"), -1)
	wantError(t, resp, http.StatusBadRequest, "InvalidRequest")
	if !strings.Contains(resp.message, "Content-Length") {
		t.Fatalf("message %q", resp.message)
	}

	// JSON bodies are bounded.
	big := map[string]any{"uploadId": id, "partNumber": 1, "pad": strings.Repeat("x", maxJSONBody)}
	wantError(t, e.post(t, alice, atcr.HoldGetPartUploadURLNSID, big), http.StatusRequestEntityTooLarge, "PayloadTooLarge")
	resp = e.do(t, alice, http.MethodPost, "/xrpc/"+atcr.HoldInitiateUploadNSID, strings.NewReader("[1,2"), 4)
	wantError(t, resp, http.StatusBadRequest, "InvalidRequest")
}

func TestAbortUpload(t *testing.T) {
	e := newEnv(t)
	id := e.initiate(t, alice, "")
	e.sendPart(t, alice, id, 1, randomBytes(6, 1024))
	sess, err := e.h.sessions.get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out atcr.HoldAbortUpload_Output
	e.call(t, alice, atcr.HoldAbortUploadNSID, atcr.HoldAbortUpload_Input{UploadID: id}, &out)
	if _, err := e.svc.ListParts(t.Context(), stagingKey(t, id), sess.S3UploadID); !errorsIsNotFound(err) {
		t.Fatalf("ListParts after abort: %v, want not found", err)
	}
	wantError(t, e.post(t, alice, atcr.HoldAbortUploadNSID, atcr.HoldAbortUpload_Input{UploadID: id}),
		http.StatusBadRequest, atcr.ErrorInvalidUploadId)
}

func TestDuplicateBlobKeepsOneCopy(t *testing.T) {
	e := newEnv(t)
	data := randomBytes(7, 4096)
	first := e.storeBlob(t, alice, oci.SHA256, data)
	id, parts := e.pushPresigned(t, bob, data, len(data))
	resp := e.complete(t, bob, id, first.String(), parts)
	if resp.status != http.StatusOK {
		t.Fatalf("second complete: %d %s %s", resp.status, resp.errName, resp.message)
	}
	e.wantBlob(t, first, data)
	e.wantNoObject(t, stagingKey(t, id))
}

func TestFallbackURLWhenPresigningDisabled(t *testing.T) {
	e := newEnv(t, func(c *envConfig) {
		c.modify = func(o *Options) { o.DisablePresignedUploads = true }
	})
	id := e.initiate(t, alice, "")
	var out partURLOutput
	e.call(t, alice, atcr.HoldGetPartUploadURLNSID, atcr.HoldGetPartUploadURL_Input{UploadID: id, PartNumber: 7}, &out)
	want := "https://hold.example.com/xrpc/io.atcr.hold.uploadPart?partNumber=7&uploadId=" + id
	if out.URL != want || out.Method != http.MethodPut || out.Headers == nil {
		t.Fatalf("got %+v, want url %s, PUT, headers {}", out, want)
	}
}

// TestPartURLWithoutSizeGoesThroughTheHold: a caller that does not state a
// part's size (clients of the lexicon before size) gets the hold's own
// uploadPart, which counts the body against the staging limit, never an
// S3 URL that would take any length.
func TestPartURLWithoutSizeGoesThroughTheHold(t *testing.T) {
	e := newEnv(t)
	id := e.initiate(t, alice, "")
	var out partURLOutput
	e.call(t, alice, atcr.HoldGetPartUploadURLNSID, atcr.HoldGetPartUploadURL_Input{UploadID: id, PartNumber: 3}, &out)
	want := "https://hold.example.com/xrpc/io.atcr.hold.uploadPart?partNumber=3&uploadId=" + id
	if out.URL != want {
		t.Fatalf("url %s, want %s", out.URL, want)
	}
	if sized := e.partURL(t, alice, id, 3, 10); !strings.Contains(sized, "X-Amz-Signature") || !strings.Contains(sized, "content-length") {
		t.Fatalf("a sized part's URL is not presigned with its length: %s", sized)
	}
}

func TestUploadPartRefusesOversizedBody(t *testing.T) {
	e := newEnv(t)
	id := e.initiate(t, alice, "")
	// Called directly: the declared length is refused before any byte is read.
	req := httptest.NewRequest(http.MethodPost, "/xrpc/"+atcr.HoldUploadPartNSID+"?partNumber=1&uploadId="+id, strings.NewReader("x"))
	req.ContentLength = maxPartSize + 1
	req = req.WithContext(serviceauth.WithCallerDID(req.Context(), alice))
	rec := httptest.NewRecorder()
	e.h.UploadPart(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "PayloadTooLarge") {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
}
