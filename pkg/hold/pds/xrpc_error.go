package pds

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
)

// xrpcError is the XRPC error body. Names are lexicon error names.
type xrpcError struct {
	Error   string `json:"error"`
	Message string `json:"message,omitempty"`
}

// writeXRPCError writes {"error":name,"message":msg} with the given status.
// (To move to a shared package once the hold server has its own writer.)
func writeXRPCError(w http.ResponseWriter, status int, name, msg string) {
	writeJSON(w, status, xrpcError{Error: name, Message: msg})
}

// writeJSON writes v as a JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the status is already sent; nothing left to report to
}

// writeErr maps a PDS error to its XRPC status and name. It is the one place
// sentinel errors become wire errors; unknown errors are logged and reported
// without detail.
func writeErr(w http.ResponseWriter, log *slog.Logger, err error) {
	status, name := http.StatusBadRequest, "InvalidRequest"
	switch {
	case errors.Is(err, ErrRecordNotFound):
		name = "RecordNotFound"
	case errors.Is(err, ErrBlobNotFound):
		name = "BlobNotFound"
	case errors.Is(err, ErrBlobTooLarge):
		name = "BlobTooLarge"
	case errors.Is(err, ErrInvalidSwap):
		name = "InvalidSwap"
	case errors.Is(err, ErrRecordExists), errors.Is(err, ErrInvalidWrite), errors.Is(err, ErrInvalidRecord),
		errors.Is(err, ErrInvalidCursor), errors.Is(err, ErrTooManyOps), errors.Is(err, ErrCommitTooLarge):
	case errors.Is(err, ErrClosed):
		status, name = http.StatusServiceUnavailable, "ServiceUnavailable"
	default:
		log.Error("xrpc request failed", "err", err)
		writeXRPCError(w, http.StatusInternalServerError, "InternalServerError", "internal error")
		return
	}
	writeXRPCError(w, status, name, err.Error())
}

// badRequest writes a 400 InvalidRequest with msg.
func badRequest(w http.ResponseWriter, msg string) {
	writeXRPCError(w, http.StatusBadRequest, "InvalidRequest", msg)
}

// repoNotFound writes the error for a repo/did parameter that is not this hold.
func repoNotFound(w http.ResponseWriter, repo string) {
	writeXRPCError(w, http.StatusBadRequest, "RepoNotFound", "this hold hosts only its own repository, not "+repo)
}
