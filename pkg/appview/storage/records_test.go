package storage

import (
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/schema"
	"atcr.io/pkg/oci"
)

func TestManifestRecordValidates(t *testing.T) {
	sum, _ := multihash.Sum([]byte("x"), multihash.SHA2_256, -1)
	blob := atdata.Blob{Ref: atdata.CIDLink(cid.NewCidV1(cid.Raw, sum)), MimeType: oci.MediaTypeOCIIndex, Size: 1}
	bodies := map[string]string{
		oci.MediaTypeOCIManifest: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
			"artifactType":"application/vnd.example+json",
			"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},
			"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,"annotations":{"a":"b"}}],
			"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},
			"annotations":{"org.opencontainers.image.created":"2026-01-01T00:00:00Z"}}`,
		oci.MediaTypeOCIIndex: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
			"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,
			"platform":{"architecture":"arm64","os":"linux","variant":"v8"}}]}`,
	}
	for mt, body := range bodies {
		m, err := oci.ParseManifest(mt, []byte(body))
		if err != nil {
			t.Fatalf("%s: %v", mt, err)
		}
		rec := manifestRecord("tools/cli", m.Digest(), m, "did:web:hold.test", blob, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
		rm, err := toRecordMap(rec)
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.ValidateRecord(atcr.ManifestNSID, rm); err != nil {
			t.Fatalf("%s record invalid: %v", mt, err)
		}
		if m.IsIndex() && (len(rec.Manifests) != 1 || rec.Manifests[0].Platform.Variant != "v8") {
			t.Fatalf("index record %+v", rec)
		}
		if !m.IsIndex() && (rec.Subject == nil || rec.ArtifactType != "application/vnd.example+json" || rec.Layers[0].Annotations["a"] != "b") {
			t.Fatalf("image record %+v", rec)
		}
	}
}
