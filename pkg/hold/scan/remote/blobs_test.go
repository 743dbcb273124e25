package remote

import (
	"io"
	"strings"
	"testing"
	"time"

	"atcr.io/internal/testclock"
	"atcr.io/pkg/hold/scan"
	"atcr.io/pkg/oci"
)

// TestURLBlobsReadPresignedURLs: the URLs S3Presigner signs, carried
// through the wire format, read the blobs' bytes from the embedded S3
// (which checks the signatures); anything outside the job, an expired
// URL, or a blob missing from the bucket is an error.
func TestURLBlobsReadPresignedURLs(t *testing.T) {
	e := newEnv(t)
	clock := testclock.New(time.Now())
	p := &S3Presigner{S3: e.s3, TTL: time.Hour, Now: clock.Now}
	missing := oci.Descriptor{MediaType: "application/octet-stream", Digest: oci.FromBytes(oci.SHA256, []byte("never stored")), Size: 12}
	img := e.image
	img.Layers = append(img.Layers, missing)
	msg, err := jobMessage(scan.Job{ID: 7, Manifest: "at://did:plc:owner/io.atcr.manifest/3kabc", Owner: "did:plc:owner", Repository: "app", Image: img, Attempt: 2},
		testHold, func(d oci.Digest) (string, time.Time, error) { return p.PresignGet(t.Context(), d) })
	if err != nil {
		t.Fatal(err)
	}
	if msg.Attempt != 2 || msg.HoldDID != testHold || msg.Config == nil || len(msg.Layers) != 3 {
		t.Fatalf("job message %+v", msg)
	}
	if want := clock.Now().Add(time.Hour).UTC().Format(time.RFC3339); msg.Layers[0].URLExpiresAt != want {
		t.Errorf("urlExpiresAt %s, want %s", msg.Layers[0].URLExpiresAt, want)
	}
	got, urls, err := jobFromMessage(msg)
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != img.Digest || got.Config.Digest != img.Config.Digest || len(got.Layers) != 3 || got.Layers[1].Size != img.Layers[1].Size {
		t.Fatalf("image came back as %+v", got)
	}
	blobs := &URLBlobs{client: DefaultBlobClient(), now: clock.Now, urls: urls}
	for _, d := range append([]oci.Descriptor{img.Config}, e.image.Layers...) {
		rc, err := blobs.Open(t.Context(), d.Digest)
		if err != nil {
			t.Fatalf("open %s: %v", d.Digest, err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(data) != string(e.blobs[d.Digest.String()]) {
			t.Fatalf("read %s: %d bytes, %v", d.Digest, len(data), err)
		}
	}
	if _, err := blobs.Open(t.Context(), missing.Digest); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("blob missing from the bucket: %v, want a 404 error", err)
	}
	if _, err := blobs.Open(t.Context(), oci.FromBytes(oci.SHA256, []byte("other"))); err == nil || !strings.Contains(err.Error(), "not part of the job") {
		t.Errorf("blob outside the job: %v", err)
	}
	clock.Advance(time.Hour)
	if _, err := blobs.Open(t.Context(), img.Config.Digest); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired URL: %v", err)
	}
}

// TestURLBlobsBoundRead: a server that sends more than the blob's size
// is cut off one byte past it, for the Scanner to notice.
func TestURLBlobsBoundRead(t *testing.T) {
	e := newEnv(t)
	d := e.image.Layers[1]
	p := &S3Presigner{S3: e.s3, TTL: time.Hour}
	u, exp, err := p.PresignGet(t.Context(), d.Digest)
	if err != nil {
		t.Fatal(err)
	}
	blobs := &URLBlobs{client: DefaultBlobClient(), now: time.Now, urls: map[string]blobURL{d.Digest.String(): {url: u, size: 10, expires: exp}}}
	rc, err := blobs.Open(t.Context(), d.Digest)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, _ := io.ReadAll(rc)
	if len(data) != 11 {
		t.Fatalf("read %d bytes of a blob said to be 10, want 11", len(data))
	}
}
