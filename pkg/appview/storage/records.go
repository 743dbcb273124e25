package storage

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// datetime formats t as the lexicons' datetime (RFC 3339, UTC, ms).
func datetime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// manifestRecord builds the io.atcr.manifest record of a push.
func manifestRecord(repoPath string, d oci.Digest, m *oci.Manifest, hold syntax.DID, blob atdata.Blob, now time.Time) *atcr.Manifest {
	rec := &atcr.Manifest{
		Repository:    repoPath,
		Digest:        d.String(),
		MediaType:     m.MediaType(),
		SchemaVersion: 2,
		ArtifactType:  m.ArtifactType(),
		HoldDID:       hold.String(),
		Annotations:   stringMap(m.Annotations()),
		ManifestBlob:  &blob,
		CreatedAt:     datetime(now),
	}
	if cfg, ok := m.Config(); ok {
		ref := blobReference(cfg)
		rec.Config = &ref
	}
	for _, l := range m.Layers() {
		rec.Layers = append(rec.Layers, blobReference(l))
	}
	for _, c := range m.Manifests() {
		rec.Manifests = append(rec.Manifests, manifestReference(c))
	}
	if subj, ok := m.Subject(); ok {
		ref := blobReference(subj)
		rec.Subject = &ref
	}
	return rec
}

func blobReference(d oci.Descriptor) atcr.Manifest_BlobReference {
	return atcr.Manifest_BlobReference{
		MediaType:    d.MediaType,
		Digest:       d.Digest.String(),
		Size:         d.Size,
		ArtifactType: d.ArtifactType,
		Annotations:  stringMap(d.Annotations),
		URLs:         d.URLs,
	}
}

func manifestReference(d oci.Descriptor) atcr.Manifest_ManifestReference {
	ref := atcr.Manifest_ManifestReference{
		MediaType:    d.MediaType,
		Digest:       d.Digest.String(),
		Size:         d.Size,
		ArtifactType: d.ArtifactType,
		Annotations:  stringMap(d.Annotations),
	}
	if p := d.Platform; p != nil {
		ref.Platform = &atcr.Manifest_Platform{
			Architecture: p.Architecture,
			OS:           p.OS,
			OSVersion:    p.OSVersion,
			OSFeatures:   p.OSFeatures,
			Variant:      p.Variant,
		}
	}
	return ref
}

// stringMap converts annotations to the record's unknown-typed object.
func stringMap(m map[string]string) map[string]any {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// annotations is the inverse of stringMap; non-string values are skipped.
func annotations(m map[string]any) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

// fitManifestRecord returns the record as a map for writing, within
// pdsread.MaxManifestRecordJSON (the reference PDS takes at most 1 MB of
// JSON per createRecord, and every relay and AppView on the firehose
// carries the record; a manifest may be 4 MiB): when it is larger, the descriptors' annotations
// are dropped, then the manifest's own (Referrers reads those from the
// manifest bytes of such records). A record too large even then cannot be
// stored. It also returns the size of the record's JSON.
func fitManifestRecord(rec *atcr.Manifest) (map[string]any, int, error) {
	for step := 0; ; step++ {
		b, err := json.Marshal(rec)
		if err != nil {
			return nil, 0, fmt.Errorf("encode record: %w", err)
		}
		if len(b) <= pdsread.MaxManifestRecordJSON {
			m, err := toRecordMap(rec)
			return m, len(b), err
		}
		switch step {
		case 0:
			dropDescriptorAnnotations(rec)
		case 1:
			rec.Annotations = nil
		default:
			return nil, 0, fmt.Errorf("manifest record is %d bytes of JSON without annotations, limit %d", len(b), pdsread.MaxManifestRecordJSON)
		}
	}
}

func dropDescriptorAnnotations(rec *atcr.Manifest) {
	if rec.Config != nil {
		rec.Config.Annotations = nil
	}
	if rec.Subject != nil {
		rec.Subject.Annotations = nil
	}
	for i := range rec.Layers {
		rec.Layers[i].Annotations = nil
	}
	for i := range rec.Manifests {
		rec.Manifests[i].Annotations = nil
	}
}

// toRecordMap converts a generated record for validation and writing.
func toRecordMap(rec any) (map[string]any, error) {
	m, err := atcr.ToMap(rec)
	if err != nil {
		return nil, fmt.Errorf("encode record: %w", err)
	}
	return m, nil
}
