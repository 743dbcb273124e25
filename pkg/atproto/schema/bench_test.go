package schema_test

import (
	"testing"

	"atcr.io/pkg/atproto/schema"
)

// BenchmarkValidateRecord measures one check of a typical pushed manifest
// (normalisation through atdata plus indigo's validator).
func BenchmarkValidateRecord(b *testing.B) {
	data := fixture(b, "io.atcr.manifest")
	if err := schema.ValidateRecord("io.atcr.manifest", data); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := schema.ValidateRecord("io.atcr.manifest", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateInput measures the check of a notifyManifest body with
// 20 layers, the largest body the hold validates per push.
func BenchmarkValidateInput(b *testing.B) {
	layers := make([]any, 20)
	for i := range layers {
		layers[i] = obj{"digest": digest, "size": int64(1 << 20), "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip"}
	}
	body := obj{"repository": "myapp", "manifestDigest": digest, "manifestUri": atURI,
		"mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": layers}
	b.ReportAllocs()
	for b.Loop() {
		if err := schema.ValidateInput("io.atcr.hold.notifyManifest", body); err != nil {
			b.Fatal(err)
		}
	}
}
