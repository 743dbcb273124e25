package holdclient

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/bluesky-social/indigo/atproto/atclient"

	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// holdErr maps a hold's XRPC error onto the registry's sentinels.
func holdErr(h Hold, nsid string, err error) error {
	wrap := func(sentinel error) error { return fmt.Errorf("hold %s: %s: %w: %w", h.DID, nsid, sentinel, err) }
	var apiErr *atclient.APIError
	if !errors.As(err, &apiErr) {
		return wrap(registry.ErrHoldUnavailable)
	}
	switch apiErr.Name {
	case atcr.ErrorInvalidDigest:
		return wrap(oci.ErrDigestMismatch)
	case atcr.ErrorBlobNotFound:
		return wrap(registry.ErrBlobUnknown)
	case atcr.ErrorInvalidUploadId, atcr.ErrorUploadExpired:
		return wrap(registry.ErrUploadUnknown)
	case atcr.ErrorQuotaExceeded:
		return fmt.Errorf("hold %s: %s: %w", h.DID, nsid, &registry.QuotaError{Hold: h.DID.String(), Detail: apiErr.Message})
	case atcr.ErrorManifestNotFound:
		// notifyManifest read the owner's PDS and found no record: it was
		// deleted under the push. Final, not an outage to retry.
		return wrap(registry.ErrManifestRecordGone)
	}
	switch {
	case apiErr.StatusCode == http.StatusTooManyRequests:
		// The hold's own limits (upload sessions per user): the client
		// should slow down, not hear that the hold failed.
		return fmt.Errorf("hold %s: %s: %w", h.DID, nsid, &registry.HoldLimitError{Hold: h.DID.String(), Detail: apiErr.Message})
	case apiErr.StatusCode == http.StatusNotFound && nsid == getBlobNSID:
		return wrap(registry.ErrBlobUnknown)
	case apiErr.StatusCode == http.StatusUnauthorized, apiErr.StatusCode == http.StatusForbidden:
		return wrap(registry.ErrHoldRefused)
	}
	return wrap(registry.ErrHoldUnavailable)
}
