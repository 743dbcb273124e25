package browse

import (
	"errors"
	"time"

	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/oci"
)

// Sentinel errors, returned wrapped.
var (
	// ErrNotFound: the identity does not exist (or declares no PDS, or its
	// repository is gone from its PDS), the repository has no images, or the
	// manifest is not in the repository.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable: the account's PDS or the identity directory failed or
	// could not be reached. The detail is for the log, never for a page.
	ErrUnavailable = errors.New("upstream unavailable")
)

// Owner is a resolved account: its DID, verified handle and PDS. Name
// is how pages spell it (the handle, else the DID).
type Owner = pdsread.Account

// User is a user page: the account and its repositories.
type User struct {
	Owner        Owner
	Repositories []RepoSummary // most recently pushed first
	// Truncated: the account has more records than one listing reads
	// (Options.MaxRecords), so some repositories may be missing.
	Truncated bool
}

// RepoSummary is one repository of a user.
type RepoSummary struct {
	// Name is the full repository name, spelled with Owner.Name().
	Name      oci.Repository
	Tags      int
	Manifests int
	// LastPush is the newest manifest or tag time; zero when unknown.
	LastPush time.Time
}

// Repository is the shell of a repository page.
type Repository struct {
	Owner Owner
	// Name is the full repository name, spelled with Owner.Name().
	Name oci.Repository
	// Description is the io.atcr.repo.page record's README (Markdown
	// source, shown as plain text), or "".
	Description string
}

// TagList is the tags of a repository.
type TagList struct {
	Owner     Owner
	Name      oci.Repository
	Tags      []Tag // most recently pushed first
	Untagged  int   // manifests no tag points at (referrers, old pushes)
	Truncated bool  // see User.Truncated
}

// Tag is one tag and the manifest it points at.
type Tag struct {
	Name     string
	PushedAt time.Time // when the tag was last moved; zero when unknown
	// Manifest is nil when the tag names a manifest record that is not
	// in the account's PDS.
	Manifest *Summary
}

// Kind is what a manifest is.
type Kind string

// The kinds of manifest.
const (
	KindImage    Kind = "image"
	KindIndex    Kind = "index"
	KindArtifact Kind = "artifact"
)

// Summary is one manifest as a row shows it.
type Summary struct {
	Digest    oci.Digest
	MediaType string
	Kind      Kind
	// ArtifactType is the manifest's artifactType, else the media type of
	// a non-image config (the distribution spec's rule); "" for images.
	ArtifactType string
	// Platforms of an index's images ("linux/arm64/v8"), attestation
	// entries left out.
	Platforms []string
	// Size is config plus layers; for an index the sum over the children
	// recorded in the repository. Zero when unknown.
	Size      int64
	CreatedAt time.Time
}

// Descriptor is a blob or manifest a manifest references.
type Descriptor struct {
	Digest    oci.Digest
	MediaType string
	Size      int64
}

// Child is an entry of an index.
type Child struct {
	Descriptor
	Platform string // "linux/amd64", or "" when the entry names none
	// InRepository: the child's manifest record is in the repository, so
	// its own details can be shown.
	InRepository bool
}

// Annotation is one key and value.
type Annotation struct {
	Key, Value string
}

// Manifest is the details of one manifest.
type Manifest struct {
	Summary
	Tags     []string // tags pointing at it
	Config   *Descriptor
	Layers   []Descriptor
	Children []Child
	// Subject is the manifest this one refers to (a signature's image).
	Subject *Descriptor
	// Annotations are the manifest's org.opencontainers.image.* ones,
	// well-known keys first.
	Annotations []Annotation
	// Referrers are the repository's manifests whose subject is this one
	// (signatures, SBOMs, attestations), newest first.
	Referrers []Summary
}
