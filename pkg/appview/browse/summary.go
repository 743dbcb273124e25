package browse

import (
	"slices"
	"strings"

	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// Bounds on what one page shows of user-controlled record content.
const (
	maxShownText        = 2000 // characters of one annotation value
	maxShownField       = 128  // characters of a platform field
	maxShownAnnotations = 50
	maxShownReferrers   = 100
	// maxBlobSize ignores absurd sizes in a record, so sums cannot overflow.
	maxBlobSize = 1 << 50
)

// ociImageAnnotations are the org.opencontainers.image.* keys shown
// first, in this order; others of that prefix follow sorted.
var ociImageAnnotations = []string{
	"title", "description", "version", "source", "url", "documentation", "licenses",
	"vendor", "authors", "revision", "created", "base.name", "base.Digest", "ref.name",
}

const ociImagePrefix = "org.opencontainers.image."

// MaxPlatforms bounds the platforms a row or a badge lists of one index
// (real multi-arch images have a handful; the record is its owner's to
// make as long as they like).
const MaxPlatforms = 64

// summary describes one manifest record for a row.
func (l *listing) summary(e *pdsread.ManifestRecord) Summary {
	s := Summary{Digest: e.Digest, MediaType: e.Value.MediaType, CreatedAt: e.Created, ArtifactType: artifactType(&e.Value)}
	switch {
	case oci.IsIndexMediaType(e.Value.MediaType):
		s.Kind = KindIndex
		for _, c := range e.Value.Manifests {
			if isAttestation(c) {
				continue
			}
			if p := platform(c.Platform); p != "" && len(s.Platforms) < MaxPlatforms && !slices.Contains(s.Platforms, p) {
				s.Platforms = append(s.Platforms, p)
			}
			if d, err := oci.ParseDigest(c.Digest); err == nil {
				if child := l.byDigest(e.Value.Repository, d); child != nil && !oci.IsIndexMediaType(child.Value.MediaType) {
					s.Size += blobsSize(&child.Value)
				}
			}
		}
	case s.ArtifactType != "":
		s.Kind = KindArtifact
		s.Size = blobsSize(&e.Value)
	default:
		s.Kind = KindImage
		s.Size = blobsSize(&e.Value)
	}
	return s
}

// artifactType follows the distribution spec (the artifactType field,
// else the config's media type), except that an image config means an
// image: "". The registry records the spec's value, so image records
// carry the image config type there.
func artifactType(m *atcr.Manifest) string {
	t := m.ArtifactType
	if t == "" && m.Config != nil {
		t = m.Config.MediaType
	}
	if t == oci.MediaTypeOCIConfig || t == oci.MediaTypeDockerConfig {
		return ""
	}
	return t
}

// blobsSize is config plus layers.
func blobsSize(m *atcr.Manifest) int64 {
	var n int64
	if m.Config != nil {
		n += clampSize(m.Config.Size)
	}
	for _, l := range m.Layers {
		n += clampSize(l.Size)
	}
	return n
}

func clampSize(n int64) int64 {
	if n < 0 || n > maxBlobSize {
		return 0
	}
	return n
}

// isAttestation reports the entries buildx adds to an index for
// provenance and SBOM attestations: not images anyone runs.
func isAttestation(c atcr.Manifest_ManifestReference) bool {
	if v, _ := c.Annotations["vnd.docker.reference.type"].(string); v == "attestation-manifest" {
		return true
	}
	return c.Platform != nil && c.Platform.OS == "unknown" && c.Platform.Architecture == "unknown"
}

// platform spells a platform "os/arch[/variant]", or "" for none.
func platform(p *atcr.Manifest_Platform) string {
	if p == nil || p.OS == "" || p.Architecture == "" {
		return ""
	}
	s := truncate(p.OS, maxShownField) + "/" + truncate(p.Architecture, maxShownField)
	if p.Variant != "" {
		s += "/" + truncate(p.Variant, maxShownField)
	}
	return s
}

// descriptor converts a record's blob reference; false for a bad digest.
func descriptor(b *atcr.Manifest_BlobReference) (Descriptor, bool) {
	d, err := oci.ParseDigest(b.Digest)
	if err != nil {
		return Descriptor{}, false
	}
	return Descriptor{Digest: d, MediaType: b.MediaType, Size: clampSize(b.Size)}, true
}

// details fills what a manifest's expanded view shows, from the records
// alone. Annotations come from the record (see Service.Manifest for the
// records stored without them).
func (l *listing) details(e *pdsread.ManifestRecord) *Manifest {
	m := &Manifest{Summary: l.summary(e)}
	path := e.Value.Repository
	if e.Value.Config != nil {
		if d, ok := descriptor(e.Value.Config); ok {
			m.Config = &d
		}
	}
	for i := range e.Value.Layers {
		if d, ok := descriptor(&e.Value.Layers[i]); ok {
			m.Layers = append(m.Layers, d)
		}
	}
	for _, c := range e.Value.Manifests {
		d, err := oci.ParseDigest(c.Digest)
		if err != nil {
			continue
		}
		m.Children = append(m.Children, Child{
			Descriptor:   Descriptor{Digest: d, MediaType: c.MediaType, Size: clampSize(c.Size)},
			Platform:     platform(c.Platform),
			InRepository: l.byDigest(path, d) != nil,
		})
	}
	if e.Value.Subject != nil {
		if d, ok := descriptor(e.Value.Subject); ok {
			m.Subject = &d
		}
	}
	m.Annotations = imageAnnotations(stringValues(e.Value.Annotations))
	for _, t := range l.tagsOf(path) {
		if target := l.target(t); target != nil && target.Digest == e.Digest {
			m.Tags = append(m.Tags, t.Value.Tag)
		}
	}
	slices.Sort(m.Tags)
	seen := map[oci.Digest]bool{}
	for _, r := range l.manifestsOf(path) {
		if r.Value.Subject == nil || r.Value.Subject.Digest != e.Digest.String() || seen[r.Digest] {
			continue
		}
		seen[r.Digest] = true
		if len(m.Referrers) < maxShownReferrers {
			m.Referrers = append(m.Referrers, l.summary(r))
		}
	}
	return m
}

// stringValues keeps the string values of a record's annotations.
func stringValues(m map[string]any) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

// imageAnnotations picks the org.opencontainers.image.* annotations,
// well-known keys first, values cut to maxShownText.
func imageAnnotations(all map[string]string) []Annotation {
	var out []Annotation
	for _, k := range ociImageAnnotations {
		if v, ok := all[ociImagePrefix+k]; ok {
			out = append(out, Annotation{Key: ociImagePrefix + k, Value: truncate(v, maxShownText)})
		}
	}
	var rest []string
	for k := range all {
		if strings.HasPrefix(k, ociImagePrefix) && !slices.Contains(ociImageAnnotations, strings.TrimPrefix(k, ociImagePrefix)) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		out = append(out, Annotation{Key: truncate(k, maxShownField), Value: truncate(all[k], maxShownText)})
	}
	if len(out) > maxShownAnnotations {
		out = out[:maxShownAnnotations]
	}
	return out
}

// truncate cuts s to at most n characters, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
