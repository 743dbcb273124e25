package xrpc

import (
	"fmt"
	"net/http"
	"time"
)

// Error is an XRPC error: an HTTP status plus the {"error","message"} body.
// Name is the machine-readable error name from the Lexicon (for example
// "InvalidRequest" or a method-specific name such as "InvalidDigest");
// Message is for humans and must be safe to show to the caller.
type Error struct {
	Status  int
	Name    string
	Message string
	// RetryAfter, when positive, is sent as a Retry-After header (whole
	// seconds, rounded up): the caller may try again after that long.
	RetryAfter time.Duration
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("xrpc %d %s", e.Status, e.Name)
	}
	return fmt.Sprintf("xrpc %d %s: %s", e.Status, e.Name, e.Message)
}

// NewError builds an Error with an explicit status and name, for the
// method-specific names a Lexicon declares.
func NewError(status int, name, message string) *Error {
	return &Error{Status: status, Name: name, Message: message}
}

// InvalidRequest is the generic 400 for input that fails validation.
func InvalidRequest(message string) *Error {
	return NewError(http.StatusBadRequest, "InvalidRequest", message)
}

// AuthRequired is the 401 for a missing or unacceptable credential.
func AuthRequired(message string) *Error {
	return NewError(http.StatusUnauthorized, "AuthRequired", message)
}

// Forbidden is the 403 for an authenticated caller without permission.
func Forbidden(message string) *Error {
	return NewError(http.StatusForbidden, "Forbidden", message)
}

// NotFound is the 404 for a missing record, blob or other resource.
func NotFound(message string) *Error {
	return NewError(http.StatusNotFound, "NotFound", message)
}

// MethodNotImplemented is the 501 for an XRPC method this server does not serve.
func MethodNotImplemented(message string) *Error {
	return NewError(http.StatusNotImplemented, "MethodNotImplemented", message)
}

// PayloadTooLarge is the 413 for a request body over its limit.
func PayloadTooLarge(message string) *Error {
	return NewError(http.StatusRequestEntityTooLarge, "PayloadTooLarge", message)
}

// UpstreamFailure is the 502 for a failure of a service this one depends on
// (a PDS, the PLC directory, S3). The message must not quote the upstream.
func UpstreamFailure(message string) *Error {
	return NewError(http.StatusBadGateway, "UpstreamFailure", message)
}

// InternalServerError is the 500 written for every error that is not an *Error.
func InternalServerError() *Error {
	return NewError(http.StatusInternalServerError, "InternalServerError", "internal server error")
}

// WithRetryAfter returns a copy of e that tells the caller to try again
// after d (a Retry-After header).
func (e *Error) WithRetryAfter(d time.Duration) *Error {
	c := *e
	c.RetryAfter = d
	return &c
}

// RateLimitExceeded is the 429 for a caller over its request budget; it
// carries when the next request will be accepted.
func RateLimitExceeded(message string, retryAfter time.Duration) *Error {
	return &Error{Status: http.StatusTooManyRequests, Name: "RateLimitExceeded", Message: message, RetryAfter: retryAfter}
}

// ServiceUnavailable is the 503 for a dependency that is down for now (for
// example S3 refusing connections): retrying after retryAfter may help.
func ServiceUnavailable(message string, retryAfter time.Duration) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Name: "ServiceUnavailable", Message: message, RetryAfter: retryAfter}
}
