package index

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// Bounds beyond the lexicons, so one hostile record cannot make a page or a
// transaction unbounded.
const (
	// maxDescriptors bounds the layers or children of one manifest.
	maxDescriptors = 1024
	// maxDescriptorSize bounds one descriptor's size (1 PiB), so sums of
	// maxDescriptors sizes cannot overflow int64.
	maxDescriptorSize = 1 << 50
	// maxShortText bounds roles, tiers, permissions, platform fields.
	maxShortText = 128
	// maxPermissions bounds a crew member's permission list.
	maxPermissions = 32
)

// placeholderOwner stands in for the owner when a record's repository path
// is checked with oci.ParseRepository, which wants "<identity>/<path>": the
// shortest handle, so the path may be as long as the shortest owner's name
// allows (oci.MaxRepositoryLength - 5 bytes).
const placeholderOwner = "x.io"

// checkRepositoryPath checks a record's repository (the path below the
// owner) against the OCI name grammar, in its canonical lowercase form.
func checkRepositoryPath(path string) error {
	name, err := oci.ParseRepository(placeholderOwner + "/" + path)
	if err != nil {
		return fmt.Errorf("repository: %w", err)
	}
	if name.Path() != path {
		return fmt.Errorf("repository %q is not in canonical form", path)
	}
	return nil
}

// checkSemantics checks what the lexicons cannot say: OCI names, tags and
// digests, how AT-URIs point, sizes and counts.
func checkSemantics(did syntax.DID, rkey string, v any) error {
	switch r := v.(type) {
	case *atcr.Manifest:
		return checkManifest(r)
	case *atcr.Tag:
		return checkTag(did, r)
	case *atcr.RepoPage:
		if err := checkRepositoryPath(r.Repository); err != nil {
			return err
		}
		if want := pdsread.RepoPageKey(r.Repository); rkey != want {
			return fmt.Errorf("record key %q, want %q for repository %q", rkey, want, r.Repository)
		}
	case *atcr.SailorStar:
		_, _, err := starSubject(r.Subject)
		return err
	case *atcr.SailorProfile:
		if r.DefaultHold != "" && defaultHoldDID(r.DefaultHold) == "" {
			return fmt.Errorf("defaultHold %q is neither a DID nor an https URL", truncate(r.DefaultHold))
		}
	case *atcr.HoldCaptain:
		if r.Successor != "" {
			if _, err := syntax.ParseDID(r.Successor); err != nil {
				return fmt.Errorf("successor: %w", err)
			}
			if r.Successor == did.String() {
				return errors.New("successor is the hold itself")
			}
		}
		if len(r.Region) > maxShortText || len(r.Provider) > maxShortText {
			return errors.New("region or provider too long")
		}
	case *atcr.HoldCrew:
		if len(r.Role) > maxShortText || len(r.Tier) > maxShortText || len(r.Permissions) > maxPermissions {
			return errors.New("role, tier or permissions too long")
		}
		for _, p := range r.Permissions {
			if len(p) > maxShortText {
				return errors.New("permission too long")
			}
		}
	}
	return nil
}

func checkManifest(m *atcr.Manifest) error {
	if err := checkRepositoryPath(m.Repository); err != nil {
		return err
	}
	if _, err := oci.ParseDigest(m.Digest); err != nil {
		return fmt.Errorf("digest: %w", err)
	}
	if len(m.Layers) > maxDescriptors || len(m.Manifests) > maxDescriptors {
		return fmt.Errorf("%d layers and %d children: the limit is %d", len(m.Layers), len(m.Manifests), maxDescriptors)
	}
	descs := append([]atcr.Manifest_BlobReference(nil), m.Layers...)
	if m.Config != nil {
		descs = append(descs, *m.Config)
	}
	if m.Subject != nil {
		descs = append(descs, *m.Subject)
	}
	for _, c := range m.Manifests {
		descs = append(descs, atcr.Manifest_BlobReference{Digest: c.Digest, Size: c.Size, MediaType: c.MediaType})
		if p := c.Platform; p != nil && (len(p.OS) > maxShortText || len(p.Architecture) > maxShortText ||
			len(p.Variant) > maxShortText || len(p.OSVersion) > maxShortText) {
			return errors.New("platform field too long")
		}
	}
	for _, d := range descs {
		if _, err := oci.ParseDigest(d.Digest); err != nil {
			return fmt.Errorf("descriptor digest: %w", err)
		}
		if d.Size < 0 || d.Size > maxDescriptorSize {
			return fmt.Errorf("descriptor %s: size %d out of range", d.Digest, d.Size)
		}
	}
	return nil
}

func checkTag(did syntax.DID, t *atcr.Tag) error {
	if err := checkRepositoryPath(t.Repository); err != nil {
		return err
	}
	if _, err := oci.ParseTag(t.Tag); err != nil {
		return fmt.Errorf("tag: %w", err)
	}
	if t.Manifest == "" && t.ManifestDigest == "" {
		return errors.New("neither manifest nor manifestDigest")
	}
	if t.Manifest != "" {
		if _, err := tagManifestKey(did, t.Manifest); err != nil {
			return err
		}
	}
	if t.ManifestDigest != "" {
		if _, err := oci.ParseDigest(t.ManifestDigest); err != nil {
			return fmt.Errorf("manifestDigest: %w", err)
		}
	}
	return nil
}

// tagManifestKey is the record key of the manifest a tag points at, which
// must be a manifest record of the tag's own repo.
func tagManifestKey(did syntax.DID, uri string) (string, error) {
	u, err := syntax.ParseATURI(uri)
	if err != nil {
		return "", fmt.Errorf("manifest: %w", err)
	}
	if u.Authority().String() != did.String() || u.Collection().String() != atcr.ManifestNSID || u.RecordKey() == "" {
		return "", fmt.Errorf("manifest %q is not an %s record of %s", truncate(uri), atcr.ManifestNSID, did)
	}
	if _, err := syntax.ParseTID(u.RecordKey().String()); err != nil {
		return "", fmt.Errorf("manifest record key: %w", err)
	}
	return u.RecordKey().String(), nil
}

// starSubject splits a star's subject, the AT-URI of an io.atcr.repo.page
// record, into the owner's DID and the repository path.
func starSubject(uri string) (syntax.DID, string, error) {
	u, err := syntax.ParseATURI(uri)
	if err != nil {
		return "", "", fmt.Errorf("subject: %w", err)
	}
	owner, err := u.Authority().AsDID()
	if err != nil {
		return "", "", fmt.Errorf("subject %q: the authority must be a DID", truncate(uri))
	}
	if u.Collection().String() != atcr.RepoPageNSID {
		return "", "", fmt.Errorf("subject %q is not an %s record", truncate(uri), atcr.RepoPageNSID)
	}
	repo := strings.ReplaceAll(u.RecordKey().String(), "~", "/")
	if err := checkRepositoryPath(repo); err != nil {
		return "", "", fmt.Errorf("subject: %w", err)
	}
	return owner, repo, nil
}

// defaultHoldDID reads a sailor profile's defaultHold: a DID, or (older
// records) an https URL read as its did:web. "" when it is neither.
func defaultHoldDID(s string) string {
	if d, err := syntax.ParseDID(s); err == nil {
		return d.String()
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" || u.Port() != "" {
		return ""
	}
	d, err := syntax.ParseDID("did:web:" + strings.ToLower(u.Hostname()))
	if err != nil {
		return ""
	}
	return d.String()
}

// truncate shortens hostile input quoted in an error.
func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
