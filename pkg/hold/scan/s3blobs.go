package scan

import (
	"context"
	"io"

	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

// S3Blobs gives the in-process worker an image's blobs straight from the
// hold's S3 (Blobs). The Scanner checks digests and sizes itself.
type S3Blobs struct {
	S3 *s3.S3Service
}

// Open implements Blobs.
func (b S3Blobs) Open(ctx context.Context, d oci.Digest) (io.ReadCloser, error) {
	rc, _, err := b.S3.Open(ctx, s3.BlobKey(d))
	return rc, err
}
