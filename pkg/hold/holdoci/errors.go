package holdoci

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/xrpc"
)

// The XRPC errors of the lexicons, built in one place so names and statuses
// stay consistent across methods.

func errInvalidDigest(format string, args ...any) *xrpc.Error {
	return xrpc.NewError(http.StatusBadRequest, atcr.ErrorInvalidDigest, fmt.Sprintf(format, args...))
}

// errInvalidUploadID is the same for unknown, malformed and foreign upload
// IDs, so a caller cannot learn whether someone else's session exists.
func errInvalidUploadID() *xrpc.Error {
	return xrpc.NewError(http.StatusBadRequest, atcr.ErrorInvalidUploadId, "no such upload session")
}

func errUploadExpired() *xrpc.Error {
	return xrpc.NewError(http.StatusBadRequest, atcr.ErrorUploadExpired, "the upload session has expired")
}

func errInvalidPartNumber(n int64) *xrpc.Error {
	return xrpc.NewError(http.StatusBadRequest, atcr.ErrorInvalidPartNumber,
		fmt.Sprintf("partNumber %d is outside 1..%d", n, maxPartNumber))
}

func errMissingParts(format string, args ...any) *xrpc.Error {
	return xrpc.NewError(http.StatusBadRequest, atcr.ErrorMissingParts, fmt.Sprintf(format, args...))
}

// errCompletionFailed is a 400 when storage refused the parts as given (a
// part too small) and a 502 when storage failed for its own reasons, so a
// client knows whether a retry can help.
func errCompletionFailed(status int, msg string) *xrpc.Error {
	return xrpc.NewError(status, atcr.ErrorCompletionFailed, msg)
}

func errBlobNotFound(status int, digest string) *xrpc.Error {
	return xrpc.NewError(status, atcr.ErrorBlobNotFound, "blob "+digest+" is not stored on this hold")
}

// errManifestStillExists: notifyManifestDeleted for a record the owner's
// PDS still serves; the layer records stay, so quota keeps counting it.
func errManifestStillExists(uri string) *xrpc.Error {
	return xrpc.NewError(http.StatusConflict, atcr.ErrorManifestStillExists,
		"the owner's PDS still has "+uri+"; delete the record first")
}

// storageOpTimeout bounds one metadata request to S3 (a HEAD, creating or
// listing a multipart upload): a storage server that accepts connections
// but does not answer costs a caller at most this long, then 502.
const storageOpTimeout = 30 * time.Second

// storageCtx bounds one S3 metadata request.
func storageCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, storageOpTimeout)
}

// storageRetryAfter is the Retry-After of a storage failure: S3 (or the
// embedded server) restarting or briefly overloaded.
const storageRetryAfter = 5 * time.Second

// errStorage is the 502 for a failed S3 request; the message names S3 as
// the upstream and never quotes its answer.
func errStorage(what string) *xrpc.Error {
	return xrpc.UpstreamFailure("storage (S3) failed to " + what).WithRetryAfter(storageRetryAfter)
}

// errManifestNotFound refuses a notification for a manifest record the
// owner's PDS does not have (or that describes another manifest or hold).
func errManifestNotFound(format string, args ...any) *xrpc.Error {
	return xrpc.NewError(http.StatusBadRequest, atcr.ErrorManifestNotFound, fmt.Sprintf(format, args...))
}
