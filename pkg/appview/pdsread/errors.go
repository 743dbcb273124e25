package pdsread

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/bluesky-social/indigo/atproto/atclient"
)

// The classes of failure a read can end in, returned wrapped. Callers put
// them into their own vocabulary; the wrapped detail is for logs.
var (
	// ErrNotFound: the identity does not exist, its handle does not
	// verify, it declares no PDS, or its PDS does not host its repository
	// (RepoNotFound).
	ErrNotFound = errors.New("account not found")
	// ErrSuspended: the PDS hosts the repository but does not serve it:
	// the account is deactivated, taken down or suspended.
	ErrSuspended = errors.New("account not active")
	// ErrRecordNotFound: the repository has no such record or blob.
	ErrRecordNotFound = errors.New("record not found")
	// ErrUnavailable: the PDS or the identity directory failed, answered
	// something unusable, or could not be reached.
	ErrUnavailable = errors.New("PDS unavailable")
	// ErrUnusable: the record's content cannot be what it claims — a
	// manifest blob that hashes to another digest, a blob larger than
	// anything ATCR stores. A property of what the owner wrote, not an
	// outage: it is an ErrRecordNotFound (the content is not there), so no
	// client is told to retry.
	ErrUnusable = fmt.Errorf("unusable content: %w", ErrRecordNotFound)
)

// classify puts a failed XRPC call into one of the classes. Error names
// decide first (the reference PDS answers RepoNotFound with 400 and a
// missing record with 400 RecordNotFound); a bare 404 means the record or
// blob is not there.
func classify(what string, err error) error {
	var apiErr *atclient.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.Name {
		case "RecordNotFound", "BlobNotFound", "NotFound":
			return fmt.Errorf("%s: %w", what, ErrRecordNotFound)
		case "RepoNotFound":
			return fmt.Errorf("%s: %w: %w", what, ErrNotFound, err)
		case "RepoDeactivated", "RepoTakendown", "RepoSuspended":
			return fmt.Errorf("%s: %w: %w", what, ErrSuspended, err)
		}
		if apiErr.StatusCode == http.StatusNotFound {
			return fmt.Errorf("%s: %w", what, ErrRecordNotFound)
		}
	}
	return fmt.Errorf("%s: %w: %w", what, ErrUnavailable, err)
}
