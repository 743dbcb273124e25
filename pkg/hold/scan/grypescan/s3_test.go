package grypescan_test

import (
	"context"
	"log/slog"
	"testing"

	"atcr.io/pkg/hold/scan"
	"atcr.io/pkg/hold/scan/grypescan"
	"atcr.io/pkg/hold/scan/scantest"
	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

// The in-process worker reads layers from the hold's bucket through
// *s3.S3Service: the same scan over the embedded S3 server, with a layer of
// 32 MiB so the stream spans many reads.
func TestScanFromS3(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, grypescan.Options{})
	svc, err := s3.New(ctx, gateway.FreshBucket("scan"))
	if err != nil {
		t.Fatal(err)
	}
	svc.Logger = slog.New(slog.DiscardHandler)
	if err := svc.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	img := e.image(t, scantest.RandomFile("data/random.bin", 32<<20, 7), scantest.VulnerableAlpine)
	for _, d := range append([]oci.Descriptor{img.Config}, img.Layers...) {
		f, err := e.blobs.Open(ctx, d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		_, err = svc.Put(ctx, s3.BlobKey(d.Digest), f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	res, err := e.scanner.Scan(ctx, img, scan.S3Blobs{S3: svc})
	if err != nil {
		t.Fatal(err)
	}
	e.checkClean(t)
	checkVulnerable(t, res, e.built)

	// A blob missing from the bucket is the hold's trouble: retry later.
	if err := svc.Delete(ctx, s3.BlobKey(img.Layers[1].Digest)); err != nil {
		t.Fatal(err)
	}
	if res, err := e.scanner.Scan(ctx, img, scan.S3Blobs{S3: svc}); err == nil {
		t.Errorf("scan with a missing layer = %+v, want an error", res)
	}
	e.checkClean(t)
}
