package pdsread

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// ManifestRecord is a usable io.atcr.manifest record.
type ManifestRecord struct {
	RKey  string
	URI   string
	Value atcr.Manifest
	// Digest is Value.Digest, parsed.
	Digest oci.Digest
	// Created is Value.CreatedAt, parsed; zero when it does not parse.
	Created time.Time
}

// TagRecord is a usable io.atcr.tag record.
type TagRecord struct {
	RKey  string
	Value atcr.Tag
	// Pushed is when the tag was last moved (updatedAt, else createdAt);
	// zero when unknown.
	Pushed time.Time
}

// DecodeManifest reads a listed or fetched io.atcr.manifest record of
// acct. Records the registry could not serve (no manifest bytes, a bad
// digest, a repository path outside the OCI grammar) are refused.
func DecodeManifest(acct Account, rec Record) (*ManifestRecord, error) {
	uri, err := syntax.ParseATURI(rec.URI)
	if err != nil || uri.Collection() != atcr.ManifestNSID {
		return nil, fmt.Errorf("manifest record URI %q is not an %s AT-URI", rec.URI, atcr.ManifestNSID)
	}
	var value atcr.Manifest
	if err := json.Unmarshal(rec.Value, &value); err != nil {
		return nil, fmt.Errorf("decode manifest record %s: %w", rec.URI, err)
	}
	d, err := oci.ParseDigest(value.Digest)
	if err != nil {
		return nil, fmt.Errorf("manifest record %s: %w", rec.URI, err)
	}
	if value.ManifestBlob == nil || !value.ManifestBlob.Ref.IsDefined() {
		return nil, fmt.Errorf("manifest record %s has no manifestBlob", rec.URI)
	}
	if _, err := RepositoryName(acct, value.Repository); err != nil {
		return nil, fmt.Errorf("manifest record %s: %w", rec.URI, err)
	}
	return &ManifestRecord{
		RKey: uri.RecordKey().String(), URI: rec.URI, Value: value, Digest: d, Created: parseTime(value.CreatedAt),
	}, nil
}

// DecodeTag reads a listed or fetched io.atcr.tag record of acct.
func DecodeTag(acct Account, rec Record) (*TagRecord, error) {
	uri, err := syntax.ParseATURI(rec.URI)
	if err != nil || uri.Collection() != atcr.TagNSID {
		return nil, fmt.Errorf("tag record URI %q is not an %s AT-URI", rec.URI, atcr.TagNSID)
	}
	var value atcr.Tag
	if err := json.Unmarshal(rec.Value, &value); err != nil {
		return nil, fmt.Errorf("decode tag record %s: %w", rec.URI, err)
	}
	if _, err := oci.ParseTag(value.Tag); err != nil {
		return nil, fmt.Errorf("tag record %s: %w", rec.URI, err)
	}
	if _, err := RepositoryName(acct, value.Repository); err != nil {
		return nil, fmt.Errorf("tag record %s: %w", rec.URI, err)
	}
	pushed := parseTime(value.UpdatedAt)
	if pushed.IsZero() {
		pushed = parseTime(value.CreatedAt)
	}
	return &TagRecord{RKey: uri.RecordKey().String(), Value: value, Pushed: pushed}, nil
}

// RepositoryName is the full name of one of acct's repositories, spelled
// with acct.Name().
func RepositoryName(acct Account, path string) (oci.Repository, error) {
	return oci.ParseRepository(acct.Name() + "/" + path)
}

// ManifestURI is the AT-URI of a manifest record.
func ManifestURI(did syntax.DID, rkey string) string {
	return "at://" + did.String() + "/" + atcr.ManifestNSID + "/" + rkey
}

// TagRecordKey returns the record key of a tag: the repository path with
// "/" replaced by "~", then ":", then the tag ("tools~cli:v1.2"). It is
// reversible and collision-free: neither repository paths nor tags may
// contain ":" or "~", so the first ":" separates the two parts and every
// "~" was a "/". A re-push of the same tag overwrites the same record.
func TagRecordKey(repoPath string, tag oci.Tag) string {
	return RepoPageKey(repoPath) + ":" + tag.String()
}

// RepoPageKey is the record key of a repository's io.atcr.repo.page
// record: its path with "/" spelled "~", as in tag record keys.
func RepoPageKey(repoPath string) string { return strings.ReplaceAll(repoPath, "/", "~") }

// MaxManifestRecordJSON bounds an io.atcr.manifest record as JSON. The
// reference PDS takes at most 1 MB of JSON per createRecord, and every
// relay and AppView on the firehose carries the record; a manifest may be
// 4 MiB. Annotations are its only open-ended part, and the exact bytes are
// in manifestBlob anyway, so the registry drops them from a record that
// would be larger (pkg/appview/storage).
const MaxManifestRecordJSON = 256 << 10

// MayLackAnnotations reports a record whose manifest is large enough for
// the registry to have dropped its annotations: readers that show them
// read them from the manifest bytes instead.
func MayLackAnnotations(m *atcr.Manifest) bool {
	return m.Annotations == nil && m.ManifestBlob != nil &&
		m.ManifestBlob.Size > MaxManifestRecordJSON-4096 // the record's own fields
}

// ManifestBytes reads a manifest record's manifestBlob and checks it
// against the record's digest: bytes that hash otherwise are ErrUnusable
// (the record names the wrong blob, or the PDS served another), a blob the
// PDS lacks ErrRecordNotFound — both a missing manifest to callers.
func (r *Reader) ManifestBytes(ctx context.Context, acct Account, rec *ManifestRecord) ([]byte, error) {
	body, err := r.GetBlob(ctx, acct, rec.Value.ManifestBlob.Ref.String(), oci.MaxManifestSize)
	if err != nil {
		return nil, err
	}
	if got := oci.FromBytes(rec.Digest.Algorithm(), body); got != rec.Digest {
		return nil, fmt.Errorf("manifest %s: blob hashes to %s, record says %s: %w", rec.URI, got, rec.Digest, ErrUnusable)
	}
	return body, nil
}

// parseTime reads a lexicon datetime; anything else is the zero time.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}
