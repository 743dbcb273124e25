package s3

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

var (
	// ErrNotFound is returned (wrapped) when an object, a multipart upload or
	// the bucket does not exist. Callers test it with errors.Is.
	ErrNotFound = errors.New("not found")

	// ErrInvalidKey is returned (wrapped) when a key, prefix, digest or
	// upload ID is refused before any request is made.
	ErrInvalidKey = errors.New("invalid object key")

	// ErrNoPresigner is returned by the Presign methods of a service built
	// without a Presigner.
	ErrNoPresigner = errors.New("no presigner configured")
)

// notFoundCodes are the S3 error codes that mean "does not exist". HeadObject
// has no body, so its 404 arrives as the generic "NotFound".
var notFoundCodes = map[string]bool{
	"NotFound":     true,
	"NoSuchKey":    true,
	"NoSuchUpload": true,
	"NoSuchBucket": true,
}

// isNotFound reports whether err is S3's way of saying the thing is missing.
func isNotFound(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && notFoundCodes[apiErr.ErrorCode()] {
		return true
	}
	var respErr *smithyhttp.ResponseError
	return errors.As(err, &respErr) && respErr.HTTPStatusCode() == http.StatusNotFound
}

// mapErr turns S3's not-found errors into ErrNotFound (keeping the original in
// the chain for logs) and leaves every other error as it is.
func mapErr(err error) error {
	if err == nil || errors.Is(err, ErrNotFound) {
		return err
	}
	if isNotFound(err) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}
