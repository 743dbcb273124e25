package holdoci

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// getBlobNSID is the method GetBlob serves for OCI digests.
const getBlobNSID = "com.atproto.sync.getBlob"

func blobPath(did, cid string) string {
	return "/xrpc/" + getBlobNSID + "?" + url.Values{"did": {did}, "cid": {cid}}.Encode()
}

func (e *testEnv) getBlob(t testing.TB, caller syntax.DID, method string, d oci.Digest) response {
	t.Helper()
	return e.do(t, caller, method, blobPath(e.pds.DID().String(), d.String()), nil, 0)
}

// fetch GETs a URL with plain net/http and returns status and body.
func fetch(t testing.TB, rawURL string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(rawURL)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func TestGetBlobRedirectsToPresignedURL(t *testing.T) {
	e := newEnv(t)
	data := randomBytes(20, 70_000)
	d := e.storeBlob(t, alice, oci.SHA256, data)

	resp := e.getBlob(t, "", http.MethodGet, d)
	if resp.status != http.StatusTemporaryRedirect {
		t.Fatalf("GET: %d %s %s", resp.status, resp.errName, resp.message)
	}
	if cc := resp.header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q, want no-store", cc)
	}
	loc := resp.header.Get("Location")
	if u, _ := url.Parse(loc); u == nil || u.Host != hostOf(t, gateway.Endpoint()) {
		t.Fatalf("Location %q does not point at S3 %s", loc, gateway.Endpoint())
	}
	status, body := fetch(t, loc)
	if status != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("Location served %d, %d bytes; want 200 and the blob's %d bytes", status, len(body), len(data))
	}
}

func TestGetBlobHeadAnswersWithoutRedirect(t *testing.T) {
	e := newEnv(t)
	data := randomBytes(21, 12345)
	d := e.storeBlob(t, alice, oci.SHA512, data)
	resp := e.getBlob(t, bob, http.MethodHead, d)
	if resp.status != http.StatusOK {
		t.Fatalf("HEAD: %d", resp.status)
	}
	h := resp.header
	if h.Get("Location") != "" || h.Get("Content-Length") != strconv.Itoa(len(data)) ||
		h.Get("Docker-Content-Digest") != d.String() || h.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("HEAD headers %v", h)
	}
	if len(resp.body) != 0 {
		t.Fatalf("HEAD sent a %d-byte body", len(resp.body))
	}
}

func TestGetBlobThroughPullZone(t *testing.T) {
	origin, err := url.Parse(gateway.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	// A CDN pull zone forwards to the origin with the origin's Host header.
	zone := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(origin)
		pr.Out.Host = origin.Host
	}})
	t.Cleanup(zone.Close)
	e := newEnv(t, func(c *envConfig) { c.pullZone = zone.URL })
	data := randomBytes(22, 9000)
	d := e.storeBlob(t, alice, oci.SHA256, data)

	resp := e.getBlob(t, "", http.MethodGet, d)
	if resp.status != http.StatusTemporaryRedirect {
		t.Fatalf("GET: %d %s", resp.status, resp.errName)
	}
	loc := resp.header.Get("Location")
	if got, want := hostOf(t, loc), hostOf(t, zone.URL); got != want {
		t.Fatalf("Location host %s, want the pull zone's %s", got, want)
	}
	status, body := fetch(t, loc)
	if status != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("pull zone served %d, %d bytes", status, len(body))
	}
}

func TestGetBlobRefusals(t *testing.T) {
	e := newEnv(t)
	d := e.storeBlob(t, alice, oci.SHA256, []byte("private bits"))
	missing := oci.FromBytes(oci.SHA256, []byte("never stored"))

	wantError(t, e.getBlob(t, "", http.MethodGet, missing), http.StatusNotFound, atcr.ErrorBlobNotFound)
	if resp := e.getBlob(t, "", http.MethodHead, missing); resp.status != http.StatusNotFound {
		t.Fatalf("HEAD missing: %d", resp.status)
	}
	wantError(t, e.do(t, "", http.MethodGet, blobPath("did:web:elsewhere.example.com", d.String()), nil, 0),
		http.StatusBadRequest, "RepoNotFound")
	wantError(t, e.do(t, "", http.MethodGet, blobPath(e.pds.DID().String(), "sha256:XYZ"), nil, 0),
		http.StatusBadRequest, "InvalidRequest")

	e.auth.setPublic(false)
	wantError(t, e.getBlob(t, "", http.MethodGet, d), http.StatusUnauthorized, atcr.ErrorAuthRequired)
	wantError(t, e.getBlob(t, eve, http.MethodGet, d), http.StatusForbidden, "Forbidden")
	if resp := e.getBlob(t, eve, http.MethodHead, d); resp.status != http.StatusForbidden {
		t.Fatalf("HEAD by a stranger: %d", resp.status)
	}
	// Private holds answer the same for missing blobs: no existence leak.
	wantError(t, e.getBlob(t, eve, http.MethodGet, missing), http.StatusForbidden, "Forbidden")
	if resp := e.getBlob(t, alice, http.MethodGet, d); resp.status != http.StatusTemporaryRedirect {
		t.Fatalf("GET by crew: %d %s", resp.status, resp.errName)
	}
}

func hostOf(t testing.TB, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}
