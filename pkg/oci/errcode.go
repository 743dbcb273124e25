package oci

import (
	"encoding/json"
	"net/http"
	"strings"
)

// ErrorCode identifies one row of the registry's error table: the code string
// sent to clients, a default message and the HTTP status. Two rows may share
// a code string when the spec wants a different status for the same code
// (MANIFEST_INVALID is 400, 413 or 415). The zero ErrorCode is UNKNOWN.
//
// ErrorCode implements error, so handlers can return a bare code, and
// errors.Is(err, ErrorCodeBlobUnknown) matches an *Error carrying it.
type ErrorCode int

type errorDescriptor struct {
	value   string
	message string
	status  int
	// publicMessage: a 5xx whose Message is shown to clients. Such a code
	// is only ever given messages the registry wrote, never text taken
	// from the failure (see ErrorCodeUpstream).
	publicMessage bool
}

// errorTable is the one table of codes; only register appends to it.
var errorTable []errorDescriptor

func register(value, message string, status int) ErrorCode {
	errorTable = append(errorTable, errorDescriptor{value: value, message: message, status: status})
	return ErrorCode(len(errorTable) - 1)
}

// The error table. Codes and messages are those of the distribution spec's
// code table, which says the code MUST be one of them; statuses follow the
// spec where it names one and distribution/zot elsewhere. UNKNOWN and
// RANGE_INVALID are distribution extensions outside the spec table; spec
// clients treat unknown codes as UNKNOWN and act on the status.
var (
	// ErrorCodeUnknown is the zero value: 500 with a generic message.
	ErrorCodeUnknown = register("UNKNOWN", "unknown error", http.StatusInternalServerError)

	ErrorCodeBlobUnknown         = register("BLOB_UNKNOWN", "blob unknown to registry", http.StatusNotFound)
	ErrorCodeBlobUploadInvalid   = register("BLOB_UPLOAD_INVALID", "blob upload invalid", http.StatusBadRequest)
	ErrorCodeBlobUploadUnknown   = register("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", http.StatusNotFound)
	ErrorCodeDigestInvalid       = register("DIGEST_INVALID", "provided digest did not match uploaded content", http.StatusBadRequest)
	ErrorCodeManifestBlobUnknown = register("MANIFEST_BLOB_UNKNOWN", "manifest references a manifest or blob unknown to registry", http.StatusNotFound)
	ErrorCodeManifestInvalid     = register("MANIFEST_INVALID", "manifest invalid", http.StatusBadRequest)
	ErrorCodeManifestUnknown     = register("MANIFEST_UNKNOWN", "manifest unknown to registry", http.StatusNotFound)
	ErrorCodeNameInvalid         = register("NAME_INVALID", "invalid repository name", http.StatusBadRequest)
	ErrorCodeNameUnknown         = register("NAME_UNKNOWN", "repository name not known to registry", http.StatusNotFound)
	ErrorCodeSizeInvalid         = register("SIZE_INVALID", "provided length did not match content length", http.StatusBadRequest)
	ErrorCodeUnauthorized        = register("UNAUTHORIZED", "authentication required", http.StatusUnauthorized)
	ErrorCodeDenied              = register("DENIED", "requested access to the resource is denied", http.StatusForbidden)
	// ErrorCodePaginationNumberInvalid answers a listing's n that is not a
	// number; the code is distribution's (the spec has none).
	ErrorCodePaginationNumberInvalid = register("PAGINATION_NUMBER_INVALID", "invalid number of results requested", http.StatusBadRequest)
	// ErrorCodeUnsupported is for operations the registry has disabled
	// (deleting tags, say); the spec allows 400 or 405 and distribution uses 405.
	ErrorCodeUnsupported     = register("UNSUPPORTED", "the operation is unsupported", http.StatusMethodNotAllowed)
	ErrorCodeTooManyRequests = register("TOOMANYREQUESTS", "too many requests", http.StatusTooManyRequests)

	// ErrorCodeManifestTooLarge answers a manifest over MaxManifestSize. The
	// spec asks for 413 but has no size code: SIZE_INVALID means a length that
	// disagrees with the content, so, like zot, it is MANIFEST_INVALID.
	ErrorCodeManifestTooLarge = register("MANIFEST_INVALID", "manifest too large", http.StatusRequestEntityTooLarge)
	// ErrorCodeManifestUnsupported answers a manifest PUT whose media type is
	// not stored here (Docker schema 1, unknown types): 415 is the HTTP
	// status for an unsupported Content-Type, UNSUPPORTED the spec's code.
	ErrorCodeManifestUnsupported = register("UNSUPPORTED", "manifest media type unsupported", http.StatusUnsupportedMediaType)
	// ErrorCodeRangeInvalid answers an out-of-order chunk (the spec requires
	// 416); the code is distribution's.
	ErrorCodeRangeInvalid = register("RANGE_INVALID", "invalid content range", http.StatusRequestedRangeNotSatisfiable)

	// ErrorCodeUpstream answers a failure of a service the registry acts as
	// a gateway for (a user's PDS, a hold, the identity directory): 502.
	// Unlike other 5xx codes its message reaches the client, so it can say
	// which service failed; give it only messages written for clients
	// (WithMessage), never an error's text. Detail is still dropped.
	ErrorCodeUpstream = registerPublic("UNKNOWN", "an upstream service failed; try again later", http.StatusBadGateway)
	// ErrorCodeUnavailable answers a request the registry cannot serve now
	// because state it shares with its other instances (Redis) is out of
	// reach: 503, as distribution's UNAVAILABLE. Its message reaches the
	// client, like ErrorCodeUpstream's.
	ErrorCodeUnavailable = registerPublic("UNAVAILABLE", "service unavailable; try again later", http.StatusServiceUnavailable)
)

// registerPublic registers a 5xx code whose message clients may see.
func registerPublic(value, message string, status int) ErrorCode {
	c := register(value, message, status)
	errorTable[c].publicMessage = true
	return c
}

func (c ErrorCode) descriptor() errorDescriptor {
	if c < 0 || int(c) >= len(errorTable) {
		return errorTable[ErrorCodeUnknown]
	}
	return errorTable[c]
}

// String returns the code string sent to clients, e.g. "BLOB_UNKNOWN".
func (c ErrorCode) String() string { return c.descriptor().value }

// Message returns the default human-readable message.
func (c ErrorCode) Message() string { return c.descriptor().message }

// HTTPStatus returns the status a response carrying c uses.
func (c ErrorCode) HTTPStatus() int { return c.descriptor().status }

// Error implements error with the default message.
func (c ErrorCode) Error() string { return c.Message() }

// WithMessage returns an *Error with c and a specific message.
func (c ErrorCode) WithMessage(msg string) *Error { return &Error{Code: c, Message: msg} }

// WithDetail returns an *Error with c and detail, any JSON-encodable value.
// An error detail is stored as its message string (errors marshal to {}).
func (c ErrorCode) WithDetail(detail any) *Error {
	if err, ok := detail.(error); ok {
		detail = err.Error()
	}
	return &Error{Code: c, Detail: detail}
}

// Error is one entry of an OCI error response.
type Error struct {
	Code    ErrorCode
	Message string // empty means Code.Message()
	Detail  any
}

// Error implements error as "CODE: message".
func (e *Error) Error() string { return e.Code.String() + ": " + e.message() }

// Is makes errors.Is(err, ErrorCodeX) true when e carries ErrorCodeX.
func (e *Error) Is(target error) bool {
	c, ok := target.(ErrorCode)
	return ok && c == e.Code
}

func (e *Error) message() string {
	if e.Message != "" {
		return e.Message
	}
	return e.Code.Message()
}

// MarshalJSON writes {"code","message","detail"}, detail omitted when nil.
func (e *Error) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Detail  any    `json:"detail,omitempty"`
	}{e.Code.String(), e.message(), e.Detail})
}

// Errors is a response carrying several errors, such as one
// MANIFEST_BLOB_UNKNOWN per missing blob. It marshals to the spec envelope
// {"errors":[…]}; the first entry decides the HTTP status.
type Errors []*Error

// Error joins the entries' messages.
func (errs Errors) Error() string {
	parts := make([]string, len(errs))
	for i, e := range errs {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Unwrap lets errors.Is and errors.As look at every entry.
func (errs Errors) Unwrap() []error {
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return out
}

// MarshalJSON writes the {"errors":[…]} envelope.
func (errs Errors) MarshalJSON() ([]byte, error) {
	list := []*Error(errs)
	if list == nil {
		list = []*Error{}
	}
	return json.Marshal(struct {
		Errors []*Error `json:"errors"`
	}{list})
}
