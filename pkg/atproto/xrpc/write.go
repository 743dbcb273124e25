package xrpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// errorBody is the XRPC error wire format.
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message,omitempty"`
}

// WriteError writes err as an XRPC error response. An *Error anywhere in
// err's chain is written as is (a status outside 400–599 becomes 500); any
// other error is logged and answered with a generic 500 InternalServerError,
// because its text may carry internals the caller must not see.
func WriteError(w http.ResponseWriter, err error) {
	var xe *Error
	if !errors.As(err, &xe) || xe == nil {
		if errors.Is(err, context.Canceled) {
			// The caller went away (or the server is stopping): nothing
			// failed that an operator must look at.
			slog.Debug("xrpc: request cancelled", "err", err)
		} else {
			slog.Error("xrpc: internal error", "err", err)
		}
		xe = InternalServerError()
	}
	status := xe.Status
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	name := xe.Name
	if name == "" {
		name = defaultName(status)
	}
	if xe.RetryAfter > 0 {
		secs := int64((xe.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	// Encoding two strings cannot fail; a write failure means the client left.
	_ = writeJSON(w, status, errorBody{Error: name, Message: xe.Message})
}

// WriteJSON writes v as a JSON response with the given status. v is encoded
// before anything is sent, so an encoding failure still yields a clean 500
// instead of a half-written body; the encoding error is returned.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	return writeJSON(w, status, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		WriteError(w, InternalServerError())
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if _, err := w.Write(append(body, '\n')); err != nil {
		return fmt.Errorf("write response: %w", err)
	}
	return nil
}

// defaultName gives an error without a name the generic name for its status.
func defaultName(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "AuthRequired"
	case status == http.StatusForbidden:
		return "Forbidden"
	case status == http.StatusNotFound:
		return "NotFound"
	case status == http.StatusTooManyRequests:
		return "RateLimitExceeded"
	case status < 500:
		return "InvalidRequest"
	default:
		return "InternalServerError"
	}
}
