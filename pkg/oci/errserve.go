package oci

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
)

// sentinelCodes is the one mapping from this package's sentinel errors to
// error codes. Order matters only for an error wrapping several sentinels.
var sentinelCodes = []struct {
	sentinel error
	code     ErrorCode
}{
	{ErrManifestTooLarge, ErrorCodeManifestTooLarge},
	{ErrManifestUnsupported, ErrorCodeManifestUnsupported},
	{ErrManifestInvalid, ErrorCodeManifestInvalid},
	{ErrInvalidDigest, ErrorCodeDigestInvalid},
	{ErrDigestMismatch, ErrorCodeDigestInvalid},
	{ErrSizeMismatch, ErrorCodeSizeInvalid},
	{ErrNameInvalid, ErrorCodeNameInvalid},
	// The spec's code table has no tag code; a tag addresses a manifest.
	{ErrTagInvalid, ErrorCodeManifestInvalid},
}

// FromError turns err into the *Error a response carries:
//   - an *Error or ErrorCode in err's chain is used as is;
//   - a sentinel of this package becomes its code, with the message of the
//     package's own error (it describes the client's input, never the
//     caller's wrapping context);
//   - anything else becomes UNKNOWN with the generic message — log err
//     yourself, it is not sent.
//
// FromError(nil) is nil.
func FromError(err error) *Error {
	if err == nil {
		return nil
	}
	var coded *Error
	if errors.As(err, &coded) {
		return coded
	}
	var code ErrorCode
	if errors.As(err, &code) {
		return &Error{Code: code}
	}
	for _, sc := range sentinelCodes {
		if !errors.Is(err, sc.sentinel) {
			continue
		}
		out := &Error{Code: sc.code}
		var input *inputError
		if errors.As(err, &input) && errors.Is(input, sc.sentinel) {
			out.Message = input.Error()
		}
		return out
	}
	return &Error{Code: ErrorCodeUnknown}
}

// ServeJSON writes err as an OCI error response: the {"errors":[…]} body
// with Content-Type application/json and the status of the first entry. An
// Errors value in err's chain is written entry by entry; anything else goes
// through FromError. Entries with a 5xx status are written with their code's
// generic message and no detail, so internal failures never leak; the caller
// logs them. The exception is a code registered with a public message
// (ErrorCodeUpstream): its Message is written, its detail still dropped.
// Headers such as WWW-Authenticate must be set before the call.
func ServeJSON(w http.ResponseWriter, err error) {
	var list Errors
	if !errors.As(err, &list) || len(list) == 0 {
		list = Errors{FromError(err)}
	}
	out := make(Errors, len(list))
	for i, e := range list {
		out[i] = publicError(e)
	}
	body, mErr := json.Marshal(out)
	if mErr != nil {
		// A detail that cannot be encoded must not cost the response.
		for i, e := range out {
			out[i] = &Error{Code: e.Code, Message: e.Message}
		}
		body, _ = json.Marshal(out)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(out[0].Code.HTTPStatus())
	_, _ = w.Write(body) // the client may be gone; nothing useful to do
}

// publicError copies e for a response, stripping what a 5xx must not show.
func publicError(e *Error) *Error {
	if e == nil {
		return &Error{Code: ErrorCodeUnknown}
	}
	if e.Code.HTTPStatus() >= http.StatusInternalServerError {
		if e.Code.descriptor().publicMessage {
			return &Error{Code: e.Code, Message: e.Message}
		}
		return &Error{Code: e.Code}
	}
	return &Error{Code: e.Code, Message: e.Message, Detail: e.Detail}
}
