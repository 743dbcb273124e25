package registry

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"atcr.io/pkg/oci"
)

// Sentinel errors the services return (wrapped) and ociError maps. They
// describe the condition, never the backend: handlers and the mapping below
// know nothing of PDSes, holds or S3.
var (
	// ErrNameUnknown: the identity does not exist, or the repository has no
	// content (NAME_UNKNOWN, 404).
	ErrNameUnknown = errors.New("repository name not known")
	// ErrManifestUnknown: no manifest or tag by that reference (MANIFEST_UNKNOWN, 404).
	ErrManifestUnknown = errors.New("manifest unknown")
	// ErrBlobUnknown: no hold has the blob (BLOB_UNKNOWN, 404).
	ErrBlobUnknown = errors.New("blob unknown")
	// ErrUploadUnknown: no such upload session in this repository, or it
	// expired (BLOB_UPLOAD_UNKNOWN, 404).
	ErrUploadUnknown = errors.New("upload unknown")
	// ErrRangeInvalid: a chunk that does not start where the upload ends
	// (RANGE_INVALID, 416).
	ErrRangeInvalid = errors.New("content range invalid")
	// ErrUploadTooLarge: the upload exceeds what one multipart upload can
	// hold (BLOB_UPLOAD_INVALID, 400).
	ErrUploadTooLarge = errors.New("upload too large")
	// ErrBodyStalled: the client stopped sending an upload's body for
	// longer than Options.BodyIdleTimeout (BLOB_UPLOAD_INVALID, 400).
	ErrBodyStalled = errors.New("upload body stalled")
	// ErrBodyIncomplete: an upload's body ended before its Content-Length,
	// or could not be read (the client reset the connection)
	// (BLOB_UPLOAD_INVALID, 400); what arrived stays with the session.
	ErrBodyIncomplete = errors.New("upload body ended before its announced length")
	// ErrPaginationNumberInvalid: a listing's n is not a non-negative
	// integer (PAGINATION_NUMBER_INVALID, 400).
	ErrPaginationNumberInvalid = errors.New("pagination number invalid")
	// ErrTooManyUploads: the upload capacity (sessions or upload memory) is
	// exhausted for now, or the registry is shutting down
	// (TOOMANYREQUESTS, 429).
	ErrTooManyUploads = errors.New("too many uploads in progress")
	// ErrManifestRecordGone: the manifest's record vanished from the PDS
	// while it was pushed — a DELETE of the same digest raced the push
	// (UNAVAILABLE, 503): pushing again records it anew.
	ErrManifestRecordGone = errors.New("manifest record deleted while it was pushed")
	// ErrRateLimited: the client's address made too many requests that
	// needed identity lookups (TOOMANYREQUESTS, 429).
	ErrRateLimited = errors.New("rate limited")
	// ErrTooManyReferences: a manifest references more content than the
	// registry checks (MANIFEST_INVALID, 400).
	ErrTooManyReferences = errors.New("manifest references too much content")
	// ErrManifestNotStorable: the manifest is valid OCI but does not fit the
	// io.atcr.manifest record schema (MANIFEST_INVALID, 400).
	ErrManifestNotStorable = errors.New("manifest cannot be stored as a record")
	// ErrNoSession: the AppView holds no PDS session for the account, so it
	// cannot write its records or mint hold tokens (UNAUTHORIZED, 401).
	ErrNoSession = errors.New("no PDS session for this account")
	// ErrQuotaExceeded: the hold refused the upload for quota (DENIED, 403).
	ErrQuotaExceeded = errors.New("hold quota exceeded")
	// ErrHoldRefused: the hold refused this account: a write by a non-crew
	// account, or a read of a private hold (DENIED, 403).
	ErrHoldRefused = errors.New("hold refused the account")
	// ErrUnavailable: a service the registry depends on failed or could
	// not be reached (UNKNOWN, 500; the detail goes to the log only). The
	// three below wrap it and say which service: 502 with a message naming
	// it, so a client can tell "retry later" from a registry bug.
	ErrUnavailable = errors.New("upstream service unavailable")
	// ErrPDSUnavailable: the account's PDS failed or could not be reached.
	ErrPDSUnavailable = fmt.Errorf("PDS: %w", ErrUnavailable)
	// ErrHoldUnavailable: the hold failed or could not be reached.
	ErrHoldUnavailable = fmt.Errorf("hold: %w", ErrUnavailable)
	// ErrDirectoryUnavailable: identity resolution (PLC directory, handle
	// or DID document) failed for reasons other than "not found".
	ErrDirectoryUnavailable = fmt.Errorf("identity directory: %w", ErrUnavailable)
	// ErrSharedStateUnavailable: the Redis the AppViews share failed or
	// could not be reached, or an upload session's lock there was lost
	// (UNAVAILABLE, 503). Uploads fail closed: going on with state the
	// other AppViews cannot see would corrupt the session.
	ErrSharedStateUnavailable = fmt.Errorf("shared state: %w", ErrUnavailable)
	// ErrUploadLockLost: the request lost its upload session's lock in
	// the shared state — another request took the session over after this
	// one stalled past the lock's TTL, or the lock could not be renewed
	// (UNAVAILABLE, 503): the client GETs the session and resumes.
	ErrUploadLockLost = fmt.Errorf("upload session lock lost: %w", ErrSharedStateUnavailable)
	// ErrDatabaseUnavailable: the AppView's database (SQLite or
	// PostgreSQL) failed or could not be reached (UNAVAILABLE, 503).
	ErrDatabaseUnavailable = fmt.Errorf("database: %w", ErrUnavailable)
)

// MissingContentError lists what a manifest references but the registry
// cannot find: blobs of an image manifest or child manifests of an index.
type MissingContentError struct {
	Digests []oci.Digest
}

// Error implements error.
func (e *MissingContentError) Error() string {
	parts := make([]string, len(e.Digests))
	for i, d := range e.Digests {
		parts[i] = d.String()
	}
	return "manifest references unknown content: " + strings.Join(parts, ", ")
}

// QuotaError is a hold's refusal for quota. It wraps ErrQuotaExceeded and
// carries what the client should read: the hold and what it said of the
// quota and the usage (DENIED, 403).
type QuotaError struct {
	Hold string
	// Detail is the hold's message ("this push needs 3 MiB more, 1 GiB of
	// 1 GiB (tier deckhand) already used"); it is shown sanitized.
	Detail string
}

// maxHoldDetail bounds the hold's words in a response.
const maxHoldDetail = 300

// Error implements error.
func (e *QuotaError) Error() string { return e.message() }

// Unwrap makes the error an ErrQuotaExceeded.
func (e *QuotaError) Unwrap() error { return ErrQuotaExceeded }

func (e *QuotaError) message() string {
	return holdMessage("storage quota exceeded on hold "+e.Hold, e.Detail)
}

// HoldLimitError is a hold's 429: too many upload sessions (or requests)
// of this account there for now — sessions a lost Redis orphaned count
// until the hold expires them. It wraps ErrTooManyUploads
// (TOOMANYREQUESTS, 429, with Retry-After) and carries the hold's words.
type HoldLimitError struct {
	Hold   string
	Detail string
}

// Error implements error.
func (e *HoldLimitError) Error() string { return e.message() }

// Unwrap makes the error an ErrTooManyUploads.
func (e *HoldLimitError) Unwrap() error { return ErrTooManyUploads }

func (e *HoldLimitError) message() string {
	return holdMessage("the hold "+e.Hold+" refused more uploads for now", e.Detail)
}

// holdMessage is a response's text quoting a hold: its detail kept to
// printable ASCII and maxHoldDetail bytes (a hold is the user's choice,
// not ours).
func holdMessage(msg, detail string) string {
	detail = strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return -1
		}
		return r
	}, detail)
	if len(detail) > maxHoldDetail {
		detail = detail[:maxHoldDetail] + "..."
	}
	if detail != "" {
		msg += ": " + detail
	}
	return msg
}

// sentinelCodes is the one table from sentinels to OCI errors. An empty
// message keeps the code's default. The first match wins: the specific
// upstream sentinels come before ErrUnavailable, which they wrap.
var sentinelCodes = []struct {
	err     error
	code    oci.ErrorCode
	message string
}{
	{ErrNameUnknown, oci.ErrorCodeNameUnknown, ""},
	{ErrManifestUnknown, oci.ErrorCodeManifestUnknown, ""},
	{ErrBlobUnknown, oci.ErrorCodeBlobUnknown, ""},
	{ErrUploadUnknown, oci.ErrorCodeBlobUploadUnknown, ""},
	{ErrRangeInvalid, oci.ErrorCodeRangeInvalid, "chunk does not fit the upload: it must start at the upload's end and be as long as its Content-Range says; GET the upload for its range"},
	{ErrUploadTooLarge, oci.ErrorCodeBlobUploadInvalid, "blob exceeds the largest size one upload can hold"},
	{ErrBodyStalled, oci.ErrorCodeBlobUploadInvalid, "the request body stopped arriving; resume the upload from the offset GET reports"},
	{ErrBodyIncomplete, oci.ErrorCodeBlobUploadInvalid, "the request body ended before its announced length; resume the upload from the offset GET reports"},
	{ErrPaginationNumberInvalid, oci.ErrorCodePaginationNumberInvalid, "n must be a non-negative integer (at most " + strconv.Itoa(MaxPageSize) + " entries are returned)"},
	{ErrTooManyUploads, oci.ErrorCodeTooManyRequests, "too many uploads in progress; retry later"},
	{ErrManifestRecordGone, oci.ErrorCodeUnavailable, "the manifest was deleted while it was pushed; push it again"},
	{ErrRateLimited, oci.ErrorCodeTooManyRequests, "too many requests from your address needed identity lookups; retry later"},
	{ErrTooManyReferences, oci.ErrorCodeManifestInvalid, "manifest references more content than the registry checks"},
	{ErrManifestNotStorable, oci.ErrorCodeManifestInvalid, "manifest cannot be stored as an io.atcr.manifest record"},
	{ErrNoSession, oci.ErrorCodeUnauthorized, "the registry holds no session with your PDS; log in again"},
	{ErrQuotaExceeded, oci.ErrorCodeDenied, "storage quota exceeded on the hold"},
	{ErrHoldRefused, oci.ErrorCodeDenied, "the hold refused this account: writing needs crew membership (ask its captain), and a private hold serves only its crew"},
	{ErrPDSUnavailable, oci.ErrorCodeUpstream, "the account's PDS failed or could not be reached; try again later"},
	{ErrHoldUnavailable, oci.ErrorCodeUpstream, "the hold storing the blobs failed or could not be reached; try again later"},
	{ErrDirectoryUnavailable, oci.ErrorCodeUpstream, "identity resolution (PLC directory, handle or DID document) failed; try again later"},
	{ErrUploadLockLost, oci.ErrorCodeUnavailable, "this upload session was taken over (or its lock could not be kept); GET it for its range and resume"},
	{ErrSharedStateUnavailable, oci.ErrorCodeUnavailable, "the registry's shared state (Redis) is unavailable; try again later"},
	{ErrDatabaseUnavailable, oci.ErrorCodeUnavailable, "the registry's database is unavailable; try again later"},
	{ErrUnavailable, oci.ErrorCodeUnknown, ""},
}

// ociError turns any error a handler returns into what the response
// carries. Coded errors (*oci.Error, oci.Errors, oci.ErrorCode) and the oci
// package's own sentinels pass through; the registry's sentinels come from
// the table above; anything else is UNKNOWN (500).
func ociError(err error) error {
	var missing *MissingContentError
	if errors.As(err, &missing) {
		out := make(oci.Errors, 0, len(missing.Digests))
		for _, d := range missing.Digests {
			out = append(out, oci.ErrorCodeManifestBlobUnknown.WithDetail(map[string]string{"digest": d.String()}))
		}
		if len(out) > 0 {
			return out
		}
	}
	var quota *QuotaError
	if errors.As(err, &quota) {
		return &oci.Error{Code: oci.ErrorCodeDenied, Message: quota.message()}
	}
	var limit *HoldLimitError
	if errors.As(err, &limit) {
		return &oci.Error{Code: oci.ErrorCodeTooManyRequests, Message: limit.message()}
	}
	var coded *oci.Error
	var list oci.Errors
	var code oci.ErrorCode
	if errors.As(err, &coded) || errors.As(err, &list) || errors.As(err, &code) {
		return err
	}
	for _, sc := range sentinelCodes {
		if errors.Is(err, sc.err) {
			return &oci.Error{Code: sc.code, Message: sc.message}
		}
	}
	return oci.FromError(err)
}

// errorf wraps a sentinel with context for logs; the context never reaches
// the client.
func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), sentinel)
}
