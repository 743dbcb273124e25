package holdoci

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

// deadS3 is an S3 service whose endpoint refuses connections.
func deadS3(t *testing.T) *s3.S3Service {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	params := gateway.FreshBucket("dead")
	params.Endpoint = "http://" + addr
	svc, err := s3.New(t.Context(), params)
	if err != nil {
		t.Fatal(err)
	}
	svc.Logger = quietLogger()
	return svc
}

// TestStorageDownIsUpstreamFailure [faults]: with S3 unreachable, every
// method that needs it answers 502 UpstreamFailure naming S3, with
// Retry-After — never a 500 — and quickly (connection refused).
func TestStorageDownIsUpstreamFailure(t *testing.T) {
	e := newEnv(t)
	d := e.putBlob(t, 140, 100)
	uri := manifestURIOf(alice, "3kttttttttt22")
	e.owner.putManifest(t, uri, notifyInput(uri, "", oci.Digest{}, d))
	e.opts.S3 = deadS3(t)
	e.restart(t)

	check := func(what string, r response) {
		t.Helper()
		if r.status != http.StatusBadGateway || (r.errName != atcr.ErrorUpstreamFailure && r.errName != "") ||
			r.header.Get("Retry-After") == "" {
			t.Errorf("%s: %d %s %q Retry-After=%q, want 502 UpstreamFailure with Retry-After", what, r.status, r.errName, r.message, r.header.Get("Retry-After"))
		}
		if r.message != "" && !strings.Contains(r.message, "S3") {
			t.Errorf("%s: message %q does not name S3", what, r.message)
		}
	}
	check("initiateUpload", e.post(t, alice, atcr.HoldInitiateUploadNSID, atcr.HoldInitiateUpload_Input{}))
	check("getBlob GET", e.getBlob(t, alice, http.MethodGet, d))
	check("getBlob HEAD", e.getBlob(t, alice, http.MethodHead, d))
	check("notifyManifest", e.post(t, alice, atcr.HoldNotifyManifestNSID, notifyInput(uri, "", oci.Digest{}, d)))
}
