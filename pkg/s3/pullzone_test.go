package s3_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"atcr.io/pkg/s3"
)

// newPullZone plays a CDN pull zone in front of the embedded server. A real
// zone forwards to the origin with the origin's Host header
// (forwardOriginHost); the other setting forwards the zone's own Host, which
// is what breaks SigV4 and serves as the negative control.
func newPullZone(t *testing.T, forwardOriginHost bool) *httptest.Server {
	t.Helper()
	origin, err := url.Parse(gateway.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(origin)
		if forwardOriginHost {
			pr.Out.Host = origin.Host
		} else {
			pr.Out.Host = pr.In.Host
		}
	}}
	zone := httptest.NewServer(proxy)
	t.Cleanup(zone.Close)
	return zone
}

func get(t *testing.T, method, rawURL string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, resp.Header, string(body)
}

func hostOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func TestPullZoneSwapAfterSigning(t *testing.T) {
	ctx := t.Context()
	zone := newPullZone(t, true)
	p := gatewayParams(t)
	p.PullZoneURL = zone.URL
	svc, err := s3.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	data := []byte("served through the pull zone")
	key := "blobs/sha256/aa/zone/data"
	if err := svc.PutBytes(ctx, key, data); err != nil {
		t.Fatal(err)
	}

	getURL, err := svc.PresignGet(ctx, key, 0)
	if err != nil {
		t.Fatal(err)
	}
	if hostOf(t, getURL) != hostOf(t, zone.URL) {
		t.Fatalf("presigned GET host %s, want the pull zone %s", hostOf(t, getURL), hostOf(t, zone.URL))
	}
	if status, _, body := get(t, http.MethodGet, getURL); status != http.StatusOK || body != string(data) {
		t.Fatalf("GET via pull zone: status %d body %q, want 200 %q", status, body, data)
	}

	// Writes never go through the zone.
	putURL, err := svc.PresignPut(ctx, key, 0)
	if err != nil {
		t.Fatal(err)
	}
	if hostOf(t, putURL) != hostOf(t, gateway.Endpoint()) {
		t.Errorf("presigned PUT host %s, want the S3 origin %s", hostOf(t, putURL), hostOf(t, gateway.Endpoint()))
	}

	// Negative control: the same swapped URL through a zone that forwards
	// its own Host fails SigV4, so the positive result above is not luck.
	bad := newPullZone(t, false)
	badURL, err := s3.ApplyPullZone(getURL, bad.URL)
	if err != nil {
		t.Fatal(err)
	}
	status, _, body := get(t, http.MethodGet, badURL)
	if status != http.StatusForbidden || !strings.Contains(body, "SignatureDoesNotMatch") {
		t.Errorf("GET via a zone forwarding its own Host: status %d body %.200s, want 403 SignatureDoesNotMatch", status, body)
	}

	// The anti-pattern: signing against the zone's host instead of the
	// origin's. Even the well-behaved zone cannot make that validate.
	wrong := p
	wrong.Endpoint, wrong.PullZoneURL = zone.URL, ""
	wrongSvc, err := s3.New(ctx, wrong)
	if err != nil {
		t.Fatal(err)
	}
	signedForZone, err := wrongSvc.PresignGet(ctx, key, 0)
	if err != nil {
		t.Fatal(err)
	}
	if status, _, _ := get(t, http.MethodGet, signedForZone); status != http.StatusForbidden {
		t.Errorf("GET of a URL signed for the zone host: status %d, want 403", status)
	}
}

func TestPresignedURLsAreVerified(t *testing.T) {
	ctx := t.Context()
	params := gatewayParams(t)
	svc := gatewayService(t, params)
	key := "uploads/verified/data"
	if err := svc.PutBytes(ctx, key, []byte("signed")); err != nil {
		t.Fatal(err)
	}
	getURL, err := svc.PresignGet(ctx, key, 0)
	if err != nil {
		t.Fatal(err)
	}
	if status, _, _ := get(t, http.MethodGet, getURL); status != http.StatusOK {
		t.Fatalf("control: presigned GET status %d, want 200", status)
	}

	u, _ := url.Parse(getURL)
	q := u.Query()
	sig := []byte(q.Get("X-Amz-Signature"))
	sig[0] = map[bool]byte{true: 'b', false: 'a'}[sig[0] == 'a']
	q.Set("X-Amz-Signature", string(sig))
	u.RawQuery = q.Encode()
	if status, _, _ := get(t, http.MethodGet, u.String()); status != http.StatusForbidden {
		t.Errorf("tampered signature: status %d, want 403", status)
	}

	if status, _, _ := get(t, http.MethodHead, getURL); status != http.StatusForbidden {
		t.Errorf("GET URL used for HEAD: status %d, want 403 (SigV4 binds the method)", status)
	}

	p := params // the same bucket, signed with a wrong secret
	p.SecretKey = "wrong" + p.SecretKey
	forged, err := s3.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	forgedURL, err := forged.PresignPut(ctx, key, 0)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, forgedURL, bytes.NewReader([]byte("overwrite")))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("PUT signed with a wrong secret: status %d, want 403", resp.StatusCode)
	}
}

// A public endpoint is the upload-side twin of a pull zone: the embedded
// server on 127.0.0.1 behind a proxy clients can reach. Part uploads and
// PUTs are signed for the origin and then pointed at the proxy; downloads go
// there too unless a pull zone is set.
func TestPublicEndpointSwapsUploadsAndDownloads(t *testing.T) {
	ctx := t.Context()
	proxy := newPullZone(t, true)
	p := gatewayParams(t)
	p.PublicEndpoint = proxy.URL
	svc, err := s3.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	key := "uploads/public-endpoint/data"
	uploadID, err := svc.CreateMultipartUpload(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("one small last part through the public endpoint")
	partURL, err := svc.PresignUploadPart(ctx, key, uploadID, 1, int64(len(data)), 0)
	if err != nil {
		t.Fatal(err)
	}
	if hostOf(t, partURL) != hostOf(t, proxy.URL) {
		t.Fatalf("part URL host %s, want the public endpoint %s", hostOf(t, partURL), hostOf(t, proxy.URL))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, partURL, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == "" {
		t.Fatalf("PUT part via public endpoint: status %d etag %q", resp.StatusCode, resp.Header.Get("ETag"))
	}
	if err := svc.CompleteMultipartUpload(ctx, key, uploadID, []s3.Part{{Number: 1, ETag: resp.Header.Get("ETag")}}); err != nil {
		t.Fatalf("complete: %v", err)
	}
	getURL, err := svc.PresignGet(ctx, key, 0)
	if err != nil {
		t.Fatal(err)
	}
	if status, _, body := get(t, http.MethodGet, getURL); hostOf(t, getURL) != hostOf(t, proxy.URL) || status != http.StatusOK || body != string(data) {
		t.Fatalf("GET via public endpoint %s: status %d body %q", getURL, status, body)
	}

	// With a pull zone as well, downloads prefer the zone.
	zone := newPullZone(t, true)
	p.PullZoneURL = zone.URL
	both, err := s3.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	getURL, err = both.PresignGet(ctx, key, 0)
	if err != nil {
		t.Fatal(err)
	}
	if hostOf(t, getURL) != hostOf(t, zone.URL) {
		t.Errorf("GET host %s with a pull zone, want the zone %s", hostOf(t, getURL), hostOf(t, zone.URL))
	}
}
