package pds

import (
	"errors"
	"net/http"

	"atcr.io/pkg/atproto/xrpc"
)

// Sentinel errors returned (wrapped) by the PDS. Test with errors.Is.
var (
	// ErrRecordNotFound: the collection/rkey has no record (GetRecord,
	// DeleteRecord, Delete writes).
	ErrRecordNotFound = errors.New("record not found")
	// ErrRecordExists: a Create write names a key that already holds a record.
	ErrRecordExists = errors.New("record already exists")
	// ErrInvalidSwap: a write's SwapRecord did not match the current record CID.
	ErrInvalidSwap = errors.New("record does not match swap CID")
	// ErrInvalidWrite: a write is malformed (bad collection or record key,
	// unknown op, duplicate path in one batch, empty batch).
	ErrInvalidWrite = errors.New("invalid write")
	// ErrInvalidRecord: a record value is outside the ATProto data model
	// (floats, unsupported Go types, too large) or the Validate hook refused it.
	ErrInvalidRecord = errors.New("invalid record")
	// ErrTooManyOps: a batch has more than MaxCommitOps writes; split it.
	ErrTooManyOps = errors.New("too many operations in one commit")
	// ErrCommitTooLarge: the commit's block CAR would exceed MaxCommitBytes;
	// split the batch.
	ErrCommitTooLarge = errors.New("commit blocks too large")
	// ErrBlobNotFound: no blob with that CID is stored.
	ErrBlobNotFound = errors.New("blob not found")
	// ErrBlobTooLarge: an uploaded blob exceeded the size limit.
	ErrBlobTooLarge = errors.New("blob too large")
	// ErrInvalidCursor: a listing or sync cursor is malformed.
	ErrInvalidCursor = errors.New("invalid cursor")
	// ErrClosed: the PDS was closed.
	ErrClosed = errors.New("pds closed")
)

// wireErrors is the one table from a sentinel error to the XRPC status and
// name the handlers answer with; the first match wins. The message is the
// error's own text: sentinel errors describe only what the caller sent.
var wireErrors = []struct {
	err    error
	status int
	name   string
}{
	{ErrRecordNotFound, http.StatusBadRequest, "RecordNotFound"},
	{ErrBlobNotFound, http.StatusBadRequest, "BlobNotFound"},
	{ErrBlobTooLarge, http.StatusBadRequest, "BlobTooLarge"},
	{ErrInvalidSwap, http.StatusBadRequest, "InvalidSwap"},
	{ErrRecordExists, http.StatusBadRequest, "InvalidRequest"},
	{ErrInvalidWrite, http.StatusBadRequest, "InvalidRequest"},
	{ErrInvalidRecord, http.StatusBadRequest, "InvalidRequest"},
	{ErrInvalidCursor, http.StatusBadRequest, "InvalidRequest"},
	{ErrTooManyOps, http.StatusBadRequest, "InvalidRequest"},
	{ErrCommitTooLarge, http.StatusBadRequest, "InvalidRequest"},
	{ErrClosed, http.StatusServiceUnavailable, "ServiceUnavailable"},
}

// writeErr answers err as an XRPC error: a sentinel error through
// wireErrors; anything else is logged with the PDS's logger and answered
// with a 500 that carries no detail.
func (h *Handlers) writeErr(w http.ResponseWriter, err error) {
	for _, e := range wireErrors {
		if errors.Is(err, e.err) {
			xrpc.WriteError(w, xrpc.NewError(e.status, e.name, err.Error()))
			return
		}
	}
	h.log.Error("xrpc request failed", "err", err)
	xrpc.WriteError(w, xrpc.NewError(http.StatusInternalServerError, "InternalServerError", "internal error"))
}

// RepoNotFound is the answer to a call naming a repository other than the
// hold's own, as the reference PDS gives it. The OCI getBlob handler answers
// the same.
func RepoNotFound(repo string) *xrpc.Error {
	return xrpc.NewError(http.StatusBadRequest, "RepoNotFound", "this hold hosts only its own repository, not "+repo)
}
