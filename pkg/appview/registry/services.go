package registry

import (
	"context"
	"io"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/oci"
)

// Owner is the resolved identity a repository name starts with.
type Owner struct {
	DID syntax.DID
	// Handle is the verified handle, or "" when the identity has none.
	Handle string
	// PDS is the base URL of the owner's PDS, where the records live.
	PDS string
}

// Repo is one repository of one owner: what every service call is about.
type Repo struct {
	Name  oci.Repository
	Owner Owner
}

// Path returns the repository below the owner's identity ("tools/cli"),
// the value of the records' repository field.
func (r Repo) Path() string { return r.Name.Path() }

// Resolver turns the first component of a repository name into its owner.
type Resolver interface {
	// ResolveOwner resolves a handle or DID. An identity that does not exist
	// or declares no PDS is ErrNameUnknown.
	ResolveOwner(ctx context.Context, identity string) (Owner, error)
}

// Manifest is a stored manifest: the exact bytes pushed, their media type
// and digest.
type Manifest struct {
	Body      []byte
	MediaType string
	Digest    oci.Digest
}

// ManifestPut is a validated manifest push.
type ManifestPut struct {
	// Tags are the tags to point at the manifest: the reference of a push
	// by tag, or the ?tag= parameters of a push by digest (none for an
	// untagged push).
	Tags []oci.Tag
	// Digest is the manifest's digest: the reference of a push by digest
	// (sha256 or sha512, already verified against Body), else its sha256.
	Digest   oci.Digest
	Manifest *oci.Manifest
	Body     []byte
}

// ManifestService stores manifests and tags.
type ManifestService interface {
	// GetManifest returns a manifest by tag or digest (ErrManifestUnknown).
	GetManifest(ctx context.Context, repo Repo, ref oci.Reference) (*Manifest, error)
	// PutManifest stores a manifest after checking that what it references
	// exists (a *MissingContentError otherwise) and tags it for tag pushes.
	PutManifest(ctx context.Context, repo Repo, put ManifestPut) error
	// DeleteManifest deletes a tag, or a manifest and every tag pointing at
	// it (ErrManifestUnknown).
	DeleteManifest(ctx context.Context, repo Repo, ref oci.Reference) error
}

// TagService lists tags.
type TagService interface {
	// Tags returns the repository's tags sorted lexically, or ErrNameUnknown
	// when the repository has neither tags nor manifests.
	Tags(ctx context.Context, repo Repo) ([]string, error)
}

// ReferrerService answers the referrers API.
type ReferrerService interface {
	// Referrers returns the descriptors of the repository's manifests whose
	// subject is the given digest (an empty list when there are none).
	Referrers(ctx context.Context, repo Repo, subject oci.Digest) ([]oci.Descriptor, error)
}

// CatalogService lists repositories.
type CatalogService interface {
	// Repositories returns repository names sorted lexically.
	Repositories(ctx context.Context) ([]string, error)
}

// BlobService finds blobs in holds, and links them to and unlinks them
// from repositories. A blob is stored once per hold and shared by every
// repository referencing it; what a repository can remove is its link.
type BlobService interface {
	// StatBlob returns a blob's size (ErrBlobUnknown, also for a blob
	// unlinked from the repository). With forPush the owner's push hold
	// alone is asked — where a manifest pushed now must find it; otherwise
	// the holds of the repository's manifests are asked first, then the
	// push hold.
	StatBlob(ctx context.Context, repo Repo, d oci.Digest, forPush bool) (int64, error)
	// BlobURL returns a presigned URL the client downloads the blob from
	// (ErrBlobUnknown, also for a blob unlinked from the repository).
	BlobURL(ctx context.Context, repo Repo, d oci.Digest) (string, error)
	// DeleteBlob unlinks a blob from the repository: from then on the
	// repository answers as if it never had it (StatBlob and BlobURL say
	// ErrBlobUnknown, a manifest referencing it is missing content) until
	// it is uploaded or mounted into the repository again. The bytes stay
	// in the hold for every other repository. A blob the repository does
	// not have is ErrBlobUnknown.
	DeleteBlob(ctx context.Context, repo Repo, d oci.Digest) error
	// MountBlob links a blob into repo without an upload when it is on the
	// owner's push hold; from is the source repository the client named,
	// nil when none. A blob unlinked from the source or absent from the
	// push hold is ErrBlobUnknown, and the client uploads it instead.
	MountBlob(ctx context.Context, repo Repo, d oci.Digest, from *Repo) error
}

// Chunk is one request body streamed into an upload session.
type Chunk struct {
	// Start is the first byte's offset from Content-Range, or -1 when the
	// request had none.
	Start int64
	// Size is the body's length from Content-Length, or -1 when unknown
	// (chunked transfer encoding). A known size lets small chunks be held
	// without a whole part buffer.
	Size int64
	Body io.Reader
	// Last marks the final chunk of an upload (the body of a PUT or a
	// monolithic POST with ?digest=): the completion sends it at once, so
	// the bounds on what sessions keep between requests do not refuse it.
	Last bool
}

// Upload is the state of a blob upload session.
type Upload struct {
	ID string
	// Offset is the number of bytes received so far.
	Offset int64
}

// UploadService runs blob upload sessions. IDs are bound to the repository
// they were started in: any other repository gets ErrUploadUnknown.
type UploadService interface {
	// StartUpload opens a session on the owner's push hold; expected is the
	// digest of a monolithic upload, or zero.
	StartUpload(ctx context.Context, repo Repo, expected oci.Digest) (Upload, error)
	// GetUpload reports the session's state.
	GetUpload(ctx context.Context, repo Repo, id string) (Upload, error)
	// WriteUpload appends a chunk. A Start other than the current offset
	// is ErrRangeInvalid. The returned state is valid even with an error,
	// for the response headers.
	WriteUpload(ctx context.Context, repo Repo, id string, chunk Chunk) (Upload, error)
	// FinishUpload completes the upload under digest d, links d to the
	// repository again if it had been unlinked, and ends the session.
	// Content that does not hash to d wraps oci.ErrDigestMismatch, and
	// nothing is stored under d.
	FinishUpload(ctx context.Context, repo Repo, id string, d oci.Digest) (int64, error)
	// CancelUpload ends the session and discards what was uploaded.
	CancelUpload(ctx context.Context, repo Repo, id string) error
}
