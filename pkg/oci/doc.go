// Package oci holds the registry's vocabulary of the OCI distribution and image
// specs: typed digests, repository names, tags and references, media types,
// manifest parsing and validation, content verification, and the OCI
// error-code table.
//
// It is a leaf: it imports only the standard library and the OCI spec
// modules, so every other package (pkg/s3, the AppView, the hold) can depend on
// it. Parse untrusted input once with the ParseX functions and pass the typed
// values around; a typed value is always valid.
//
// Where things are:
//
//   - digest.go: Digest, ParseDigest, FromBytes (sha256 and sha512 only).
//   - names.go, identity.go: Repository, "<handle-or-DID>/<repo>[/more]".
//   - tags.go, reference.go: Tag and Reference (tag or digest).
//   - mediatypes.go: media type constants and predicates.
//   - manifest.go, validate.go, jsonkeys.go: ParseManifest and Manifest.
//   - hasher.go: Hasher, which digests and verifies streamed content.
//   - errcode.go, errserve.go: the error table, FromError and ServeJSON.
//
// Every parse or verification failure wraps one sentinel (ErrInvalidDigest,
// ErrNameInvalid, ErrTagInvalid, ErrManifestInvalid, ErrManifestTooLarge,
// ErrManifestUnsupported, ErrDigestMismatch, ErrSizeMismatch), and FromError
// is the single place that turns a sentinel into an OCI error code:
//
//	ErrInvalidDigest, ErrDigestMismatch  DIGEST_INVALID    400
//	ErrSizeMismatch                      SIZE_INVALID      400
//	ErrNameInvalid                       NAME_INVALID      400
//	ErrTagInvalid, ErrManifestInvalid    MANIFEST_INVALID  400
//	ErrManifestTooLarge                  MANIFEST_INVALID  413
//	ErrManifestUnsupported               UNSUPPORTED       415
//	anything else                        UNKNOWN           500 (generic message)
//
// A handler writes any error with ServeJSON(w, err). Messages sent to clients
// come only from this package's own errors (which describe the client's
// input) or from an *Error the handler built; wrapping context and 5xx
// details are never sent.
package oci
