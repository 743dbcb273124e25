package pds

import "errors"

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
