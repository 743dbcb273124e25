package scan

import (
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// The AppView's manifest records carry the referrers API's artifact type,
// which for a plain image is its config's media type: the job of such a
// record has no artifact type (else every image is skipped as an
// artifact), while a real artifactType stays.
func TestJobFromRecordArtifactType(t *testing.T) {
	uri := syntax.ATURI("at://did:plc:aaaaaaaaaaaaaaaaaaaaaaaa/io.atcr.manifest/abc")
	cfg := oci.FromBytes(oci.SHA256, []byte("{}"))
	for name, c := range map[string]struct{ config, artifactType, want string }{
		"image":       {oci.MediaTypeOCIConfig, oci.MediaTypeOCIConfig, ""},
		"helm":        {"application/vnd.cncf.helm.config.v1+json", "application/vnd.cncf.helm.config.v1+json", ""},
		"attestation": {oci.MediaTypeOCIEmpty, "application/vnd.in-toto+json", "application/vnd.in-toto+json"},
	} {
		rec := &atcr.Manifest{
			Digest: oci.FromBytes(oci.SHA256, []byte(name)).String(), MediaType: oci.MediaTypeOCIManifest,
			Repository: "app", SchemaVersion: 2, ArtifactType: c.artifactType,
			Config: &atcr.Manifest_BlobReference{Digest: cfg.String(), MediaType: c.config, Size: 2},
		}
		job, err := JobFromRecord(uri, rec)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if job.Image.ArtifactType != c.want || job.Image.Config.MediaType != c.config {
			t.Errorf("%s: artifact type %q, config %q; want %q, %q", name, job.Image.ArtifactType, job.Image.Config.MediaType, c.want, c.config)
		}
	}
}
