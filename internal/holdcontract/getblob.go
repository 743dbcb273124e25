package holdcontract

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// getBlobNSID serves both ATProto blob CIDs and, on a hold, OCI digests.
const getBlobNSID = syntax.NSID("com.atproto.sync.getBlob")

// getBlob asks for an OCI digest with GET or HEAD, as the writer.
func (c *client) getBlob(t *testing.T, method string, d oci.Digest) reply {
	t.Helper()
	q := url.Values{"did": {c.target.DID.String()}, "cid": {d.String()}}
	return c.call(t, method, getBlobNSID, q, c.token(t, getBlobNSID), "", nil)
}

// wantStored checks that getBlob answers GET with a 307 to want's bytes and
// HEAD with its size and digest (no redirect: a presigned URL is bound to
// one method).
func (c *client) wantStored(t *testing.T, d oci.Digest, want []byte) {
	t.Helper()
	r := c.getBlob(t, http.MethodGet, d)
	loc := r.header.Get("Location")
	if r.status != http.StatusTemporaryRedirect || loc == "" {
		t.Fatalf("getBlob GET %s: %s (Location %q), want 307 with a Location", d, r, loc)
	}
	fetched := c.send(t, http.MethodGet, loc, nil, nil)
	if fetched.status != http.StatusOK {
		t.Fatalf("GET the Location of %s: %d", d, fetched.status)
	}
	if got := oci.FromBytes(d.Algorithm(), fetched.body); got != d {
		t.Errorf("the Location of %s serves %d bytes with digest %s", d, len(fetched.body), got)
	}

	r = c.getBlob(t, http.MethodHead, d)
	if r.status != http.StatusOK {
		t.Fatalf("getBlob HEAD %s: %d, want 200", d, r.status)
	}
	if size, err := strconv.ParseInt(r.header.Get("Content-Length"), 10, 64); err != nil || size != int64(len(want)) {
		t.Errorf("getBlob HEAD %s: Content-Length %q, want %d", d, r.header.Get("Content-Length"), len(want))
	}
	if got := r.header.Get("Docker-Content-Digest"); got != d.String() {
		t.Errorf("getBlob HEAD %s: Docker-Content-Digest %q", d, got)
	}
}

// wantNotStored checks that getBlob knows no blob d.
func (c *client) wantNotStored(t *testing.T, d oci.Digest) {
	t.Helper()
	wantError(t, "getBlob GET "+d.String(), c.getBlob(t, http.MethodGet, d), http.StatusNotFound, atcr.ErrorBlobNotFound)
	if r := c.getBlob(t, http.MethodHead, d); r.status != http.StatusNotFound {
		t.Errorf("getBlob HEAD %s: %d, want 404", d, r.status)
	}
}

func testGetBlobUnknown(t *testing.T, c *client) {
	c.wantNotStored(t, oci.FromBytes(oci.SHA256, randomBytes(t, 100)))
}
