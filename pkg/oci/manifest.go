package oci

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	specs "github.com/opencontainers/image-spec/specs-go/v1"
)

// MaxManifestSize is the largest manifest body accepted: the distribution
// spec asks registries to accept at least 4 MiB and to answer 413 above
// their limit.
const MaxManifestSize = 4 << 20

// Manifest errors. Each maps to one OCI error code in FromError.
var (
	// ErrManifestInvalid: malformed JSON or a spec rule broken (MANIFEST_INVALID, 400).
	ErrManifestInvalid = errors.New("invalid manifest")
	// ErrManifestTooLarge: body over MaxManifestSize (MANIFEST_INVALID, 413).
	ErrManifestTooLarge = errors.New("manifest too large")
	// ErrManifestUnsupported: Docker schema 1 or a media type that is not a
	// manifest or index this registry stores (UNSUPPORTED, 415).
	ErrManifestUnsupported = errors.New("unsupported manifest media type")
)

// Platform is the platform of an index entry, as defined by the image spec.
type Platform = specs.Platform

// Descriptor is a validated content descriptor. Digest is always valid, Size
// is never negative and MediaType has the image-spec grammar. It marshals to
// the image-spec JSON form, so it can be written into a referrers index.
type Descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       Digest            `json:"digest"`
	Size         int64             `json:"size"`
	URLs         []string          `json:"urls,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	Data         []byte            `json:"data,omitempty"`
	Platform     *Platform         `json:"platform,omitempty"`
	ArtifactType string            `json:"artifactType,omitempty"`
}

// Manifest is a validated image manifest or index. It keeps no copy of the
// body: the caller stores the exact bytes it parsed (the spec requires
// serving them unchanged). Accessors return copies.
type Manifest struct {
	mediaType    string
	artifactType string
	config       *Descriptor // image manifests only
	layers       []Descriptor
	manifests    []Descriptor // indexes only
	subject      *Descriptor
	annotations  map[string]string
	digest       Digest
	size         int64
}

// ReadManifestBody reads a manifest body from r, refusing to buffer more than
// MaxManifestSize bytes: a longer body fails with ErrManifestTooLarge after
// reading at most MaxManifestSize+1 bytes.
func ReadManifestBody(r io.Reader) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, MaxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("read manifest body: %w", err)
	}
	if len(body) > MaxManifestSize {
		return nil, invalidf(ErrManifestTooLarge, "body exceeds %d bytes", MaxManifestSize)
	}
	return body, nil
}

// ParseManifest validates body as the manifest or index named by
// contentType (the request's Content-Type; parameters are ignored, and an
// empty or "application/json" value defers to the body's mediaType field).
//
// It enforces MaxManifestSize, well-formed UTF-8 JSON without duplicate or
// case-variant keys, agreement between Content-Type and the body's
// mediaType, schemaVersion 2, and well-formed descriptors; a document that
// carries both index and manifest fields is refused (CVE-2021-41190). Unknown
// fields are accepted. Failures wrap ErrManifestTooLarge,
// ErrManifestUnsupported or ErrManifestInvalid.
func ParseManifest(contentType string, body []byte) (*Manifest, error) {
	if len(body) > MaxManifestSize {
		return nil, invalidf(ErrManifestTooLarge, "%d bytes, the limit is %d", len(body), MaxManifestSize)
	}
	m, err := decodeManifest(contentType, body)
	if err != nil {
		return nil, err
	}
	m.digest = FromBytes(SHA256, body)
	m.size = int64(len(body))
	return m, nil
}

// MediaType returns the manifest's media type; store it and serve it as
// Content-Type.
func (m *Manifest) MediaType() string { return m.mediaType }

// IsIndex reports whether m is an OCI index or Docker manifest list.
func (m *Manifest) IsIndex() bool { return IsIndexMediaType(m.mediaType) }

// ArtifactType follows the referrers rule of the distribution spec: the
// artifactType field, else config.mediaType for an image manifest, else ""
// for an index.
func (m *Manifest) ArtifactType() string {
	if m.artifactType != "" {
		return m.artifactType
	}
	if m.config != nil {
		return m.config.MediaType
	}
	return ""
}

// Config returns the config descriptor of an image manifest; ok is false for
// an index.
func (m *Manifest) Config() (d Descriptor, ok bool) {
	if m.config == nil {
		return Descriptor{}, false
	}
	return *m.config, true
}

// Layers returns the layer descriptors of an image manifest, in order.
func (m *Manifest) Layers() []Descriptor { return slices.Clone(m.layers) }

// Manifests returns the entries of an index, in order, with their platforms.
func (m *Manifest) Manifests() []Descriptor { return slices.Clone(m.manifests) }

// Subject returns the subject descriptor, if the manifest has one.
func (m *Manifest) Subject() (d Descriptor, ok bool) {
	if m.subject == nil {
		return Descriptor{}, false
	}
	return *m.subject, true
}

// Annotations returns the manifest's annotations (nil when there are none).
func (m *Manifest) Annotations() map[string]string { return maps.Clone(m.annotations) }

// References returns everything the registry must find before accepting the
// manifest: the config and the distributable layers of an image manifest, or
// the child manifests of an index. The subject is not included (the spec
// requires accepting a manifest whose subject does not exist yet), nor are
// non-distributable layers (their bytes are elsewhere).
func (m *Manifest) References() []Descriptor {
	if m.IsIndex() {
		return m.Children()
	}
	refs := make([]Descriptor, 0, 1+len(m.layers))
	refs = append(refs, *m.config)
	for _, l := range m.layers {
		if !IsNondistributable(l.MediaType) {
			refs = append(refs, l)
		}
	}
	return refs
}

// Children returns the child manifests of an index (nil for an image
// manifest).
func (m *Manifest) Children() []Descriptor { return m.Manifests() }

// Digest returns the sha256 digest of the exact bytes parsed. For a PUT by a
// sha512 reference, compare FromBytes(SHA512, body) instead.
func (m *Manifest) Digest() Digest { return m.digest }

// Size returns the length of the parsed body in bytes.
func (m *Manifest) Size() int64 { return m.size }
