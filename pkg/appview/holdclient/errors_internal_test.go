package holdclient

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/safehttp"
	"atcr.io/pkg/oci"
)

func TestHoldErrClassification(t *testing.T) {
	api := func(status int, name string) error { return &atclient.APIError{StatusCode: status, Name: name} }
	h := Hold{DID: "did:web:hold.test"}
	cases := []struct {
		nsid string
		err  error
		want error
	}{
		{atcr.HoldCompleteUploadNSID, api(400, atcr.ErrorInvalidDigest), oci.ErrDigestMismatch},
		{atcr.HoldCompleteUploadNSID, api(400, atcr.ErrorUploadExpired), registry.ErrUploadUnknown},
		{atcr.HoldGetPartUploadURLNSID, api(400, atcr.ErrorInvalidUploadId), registry.ErrUploadUnknown},
		{atcr.HoldInitiateUploadNSID, api(403, atcr.ErrorQuotaExceeded), registry.ErrQuotaExceeded},
		{atcr.HoldInitiateUploadNSID, api(403, "Forbidden"), registry.ErrHoldRefused},
		{atcr.HoldInitiateUploadNSID, api(401, atcr.ErrorAuthRequired), registry.ErrHoldRefused},
		{getBlobNSID, api(404, ""), registry.ErrBlobUnknown},
		{getBlobNSID, api(400, atcr.ErrorBlobNotFound), registry.ErrBlobUnknown},
		{atcr.HoldInitiateUploadNSID, api(404, "MethodNotImplemented"), registry.ErrUnavailable},
		{atcr.HoldCompleteUploadNSID, api(500, atcr.ErrorCompletionFailed), registry.ErrUnavailable},
		{atcr.HoldCompleteUploadNSID, errors.New("connection reset"), registry.ErrUnavailable},
		{atcr.HoldInitiateUploadNSID, api(429, "RateLimitExceeded"), registry.ErrTooManyUploads},
		{atcr.HoldNotifyManifestNSID, api(400, atcr.ErrorManifestNotFound), registry.ErrManifestRecordGone},
	}
	for _, c := range cases {
		if got := holdErr(h, c.nsid, c.err); !errors.Is(got, c.want) {
			t.Errorf("holdErr(%s, %v) = %v, want %v", c.nsid, c.err, got, c.want)
		}
	}
	// A hold's 429 and a record deleted under a push are no outage: the
	// notification is not retried, and the client is not told the hold
	// failed (a 502 with an ERROR line).
	for _, err := range []error{api(429, "RateLimitExceeded"), api(400, atcr.ErrorManifestNotFound)} {
		if got := holdErr(h, atcr.HoldNotifyManifestNSID, err); errors.Is(got, registry.ErrUnavailable) {
			t.Errorf("holdErr(%v) = %v: an upstream failure", err, got)
		}
	}
	var limit *registry.HoldLimitError
	if got := holdErr(h, atcr.HoldInitiateUploadNSID, &atclient.APIError{StatusCode: 429, Name: "RateLimitExceeded", Message: "100 upload sessions are open for this user"}); !errors.As(got, &limit) || limit.Detail != "100 upload sessions are open for this user" {
		t.Errorf("a hold's 429 does not carry its words: %v", got)
	}
}

// TestPartURLSignatureStaysOutOfErrors: a failed part PUT's error (which
// the registry logs at ERROR) names the URL without its query, the
// signature of a presigned UploadPart.
func TestPartURLSignatureStaysOutOfErrors(t *testing.T) {
	c, err := New(Options{Directory: identity.NewMockDirectory(), Tokens: noTokens{}, HTTP: safehttp.Options{AllowPrivateNetworks: true, AllowPlainHTTP: true}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: the PUT fails to connect
	target := atcr.HoldGetPartUploadURL_Output{URL: "http://" + addr + "/bucket/uploads/x?partNumber=1&X-Amz-Signature=s3cr3t"}
	_, err = c.putPart(t.Context(), Hold{DID: "did:web:hold.test"}, target, []byte("part"))
	if err == nil {
		t.Fatal("PUT to a closed port succeeded")
	}
	if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "X-Amz-Signature") {
		t.Fatalf("error carries the signature: %v", err)
	}
	if !errors.Is(err, registry.ErrHoldUnavailable) {
		t.Fatalf("error %v is not ErrHoldUnavailable", err)
	}
}

type noTokens struct{}

func (noTokens) ServiceToken(context.Context, syntax.DID, syntax.DID, syntax.NSID) (string, error) {
	return "", errors.New("no tokens here")
}

// TestLongLocationRefused: a hold cannot make the AppView cache (and hand
// clients) a redirect of many kilobytes.
func TestLongLocationRefused(t *testing.T) {
	loc := "https://s3.example/b/k?" + strings.Repeat("a", maxLocation)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, loc, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	c, err := New(Options{Directory: identity.NewMockDirectory(), Tokens: noTokens{}, HTTP: safehttp.Options{AllowPrivateNetworks: true, AllowPlainHTTP: true}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.BlobLocation(t.Context(), Hold{DID: "did:web:hold.test", Endpoint: srv.URL}, oci.FromBytes(oci.SHA256, []byte("x")))
	if !errors.Is(err, registry.ErrHoldUnavailable) {
		t.Fatalf("a %d-byte Location: %v, want ErrHoldUnavailable", len(loc), err)
	}
}
