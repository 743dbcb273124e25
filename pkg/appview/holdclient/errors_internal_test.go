package holdclient

import (
	"errors"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atclient"

	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/atproto/atcr"
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
	}
	for _, c := range cases {
		if got := holdErr(h, c.nsid, c.err); !errors.Is(got, c.want) {
			t.Errorf("holdErr(%s, %v) = %v, want %v", c.nsid, c.err, got, c.want)
		}
	}
}
