package holdcontract

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// minPartSize is S3's smallest part but the last: the first part of a
// two-part upload must be this big.
const minPartSize = 5 << 20

// randomBytes returns n random bytes: content no other test has stored.
func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// initiate starts an upload as the writer; expected may be the zero digest.
func (c *client) initiate(t *testing.T, expected oci.Digest) string {
	t.Helper()
	var out atcr.HoldInitiateUpload_Output
	wantOK(t, "initiateUpload", c.procedure(t, atcr.HoldInitiateUploadNSID, atcr.HoldInitiateUpload_Input{Digest: expected.String()}), &out)
	if out.UploadID == "" {
		t.Fatal("initiateUpload answered no uploadId")
	}
	return out.UploadID
}

// sendPart uploads part n the way the AppView does: to the URL
// getPartUploadUrl hands out for its size with its method and headers, or
// through uploadPart when that URL is empty or the hold's own uploadPart.
func (c *client) sendPart(t *testing.T, uploadID string, n int, data []byte) atcr.HoldCompleteUpload_Part {
	t.Helper()
	var target atcr.HoldGetPartUploadURL_Output
	size := int64(len(data))
	in := atcr.HoldGetPartUploadURL_Input{UploadID: uploadID, PartNumber: int64(n), Size: &size}
	wantOK(t, "getPartUploadUrl", c.procedure(t, atcr.HoldGetPartUploadURLNSID, in), &target)
	if target.URL == "" || isUploadPartURL(target.URL) {
		return c.uploadPart(t, uploadID, n, data)
	}
	method := target.Method
	if method == "" {
		method = http.MethodPut
	}
	header := http.Header{}
	for k, v := range target.Headers {
		s, ok := v.(string)
		if !ok {
			t.Fatalf("getPartUploadUrl header %s is %T, want a string", k, v)
		}
		header.Set(k, s)
	}
	r := c.send(t, method, target.URL, header, data)
	etag := r.header.Get("ETag")
	if r.status != http.StatusOK || etag == "" {
		t.Fatalf("%s part %d to the URL handed out: %s (ETag %q), want 200 with an ETag", method, n, r, etag)
	}
	return atcr.HoldCompleteUpload_Part{PartNumber: int64(n), ETag: etag}
}

// isUploadPartURL reports a URL naming the hold's own uploadPart, which
// takes a service token rather than a presigned signature.
func isUploadPartURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && strings.HasSuffix(u.Path, "/xrpc/"+atcr.HoldUploadPartNSID)
}

// uploadPart sends part n through the hold.
func (c *client) uploadPart(t *testing.T, uploadID string, n int, data []byte) atcr.HoldCompleteUpload_Part {
	t.Helper()
	q := url.Values{"uploadId": {uploadID}, "partNumber": {strconv.Itoa(n)}}
	r := c.call(t, http.MethodPost, atcr.HoldUploadPartNSID, q, c.token(t, atcr.HoldUploadPartNSID), "application/octet-stream", data)
	var out atcr.HoldUploadPart_Output
	wantOK(t, "uploadPart", r, &out)
	if out.ETag == "" {
		t.Fatalf("uploadPart part %d answered no etag: %s", n, r)
	}
	return atcr.HoldCompleteUpload_Part{PartNumber: int64(n), ETag: out.ETag}
}

func (c *client) complete(t *testing.T, uploadID string, d oci.Digest, parts []atcr.HoldCompleteUpload_Part) reply {
	t.Helper()
	in := atcr.HoldCompleteUpload_Input{UploadID: uploadID, Digest: d.String(), Parts: parts}
	return c.procedure(t, atcr.HoldCompleteUploadNSID, in)
}

func (c *client) abort(t *testing.T, uploadID string) reply {
	t.Helper()
	return c.procedure(t, atcr.HoldAbortUploadNSID, atcr.HoldAbortUpload_Input{UploadID: uploadID})
}

// store uploads data in one part and returns its digest.
func (c *client) store(t *testing.T, data []byte) oci.Digest {
	t.Helper()
	d := oci.FromBytes(oci.SHA256, data)
	id := c.initiate(t, oci.Digest{})
	part := c.sendPart(t, id, 1, data)
	wantOK(t, "completeUpload", c.complete(t, id, d, []atcr.HoldCompleteUpload_Part{part}), nil)
	return d
}

func testAuth(t *testing.T, c *client) {
	nsid := syntax.NSID(atcr.HoldInitiateUploadNSID)
	r := c.call(t, http.MethodPost, nsid, nil, "", "application/json", []byte("{}"))
	wantError(t, "initiateUpload without a token", r, http.StatusUnauthorized, "AuthRequired")
	r = c.call(t, http.MethodPost, nsid, nil, c.token(t, atcr.HoldAbortUploadNSID), "application/json", []byte("{}"))
	wantError(t, "initiateUpload with a token for abortUpload", r, http.StatusUnauthorized, "BadJwtLexiconMethod")
}

func testUploadAndComplete(t *testing.T, c *client) {
	first, last := randomBytes(t, minPartSize), randomBytes(t, 1000)
	blob := append(append([]byte(nil), first...), last...)
	d := oci.FromBytes(oci.SHA256, blob)

	id := c.initiate(t, oci.Digest{})
	parts := []atcr.HoldCompleteUpload_Part{c.sendPart(t, id, 1, first), c.sendPart(t, id, 2, last)}
	var out atcr.HoldCompleteUpload_Output
	wantOK(t, "completeUpload", c.complete(t, id, d, parts), &out)
	if out.Status != "completed" || out.Digest != d.String() || out.Size != int64(len(blob)) {
		t.Errorf("completeUpload answered %+v, want completed %s of %d bytes", out, d, len(blob))
	}
	c.wantStored(t, d, blob)
	wantError(t, "completeUpload of a completed upload", c.complete(t, id, d, parts), http.StatusBadRequest, atcr.ErrorInvalidUploadId)
}

// A digest that does not match the bytes stores nothing, at either digest,
// and ends the session.
func testCompleteWrongDigest(t *testing.T, c *client) {
	data := randomBytes(t, 1000)
	actual, claimed := oci.FromBytes(oci.SHA256, data), oci.FromBytes(oci.SHA256, randomBytes(t, 1000))
	id := c.initiate(t, oci.Digest{})
	parts := []atcr.HoldCompleteUpload_Part{c.sendPart(t, id, 1, data)}
	wantError(t, "completeUpload with a wrong digest", c.complete(t, id, claimed, parts), http.StatusBadRequest, atcr.ErrorInvalidDigest)
	c.wantNotStored(t, claimed)
	c.wantNotStored(t, actual)
	wantError(t, "completeUpload after a mismatch", c.complete(t, id, actual, parts), http.StatusBadRequest, atcr.ErrorInvalidUploadId)
}

// completeUpload must name the digest initiateUpload announced.
func testCompleteOtherThanExpected(t *testing.T, c *client) {
	data := randomBytes(t, 1000)
	actual, expected := oci.FromBytes(oci.SHA256, data), oci.FromBytes(oci.SHA256, randomBytes(t, 1000))
	id := c.initiate(t, expected)
	parts := []atcr.HoldCompleteUpload_Part{c.sendPart(t, id, 1, data)}
	wantError(t, "completeUpload with another digest than announced", c.complete(t, id, actual, parts), http.StatusBadRequest, atcr.ErrorInvalidDigest)
	c.wantNotStored(t, actual)
}

// After abortUpload the upload ID is unknown to every method.
func testAbort(t *testing.T, c *client) {
	data := randomBytes(t, 1000)
	d := oci.FromBytes(oci.SHA256, data)
	id := c.initiate(t, oci.Digest{})
	parts := []atcr.HoldCompleteUpload_Part{c.sendPart(t, id, 1, data)}
	wantOK(t, "abortUpload", c.abort(t, id), nil)

	in := atcr.HoldGetPartUploadURL_Input{UploadID: id, PartNumber: 2}
	wantError(t, "getPartUploadUrl after abort", c.procedure(t, atcr.HoldGetPartUploadURLNSID, in), http.StatusBadRequest, atcr.ErrorInvalidUploadId)
	wantError(t, "completeUpload after abort", c.complete(t, id, d, parts), http.StatusBadRequest, atcr.ErrorInvalidUploadId)
	wantError(t, "abortUpload again", c.abort(t, id), http.StatusBadRequest, atcr.ErrorInvalidUploadId)
	c.wantNotStored(t, d)
}
