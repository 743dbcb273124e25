package scan

import (
	"context"
	"fmt"
	"io"

	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

// S3Blobs reads an image's blobs from the hold's bucket (the in-process
// worker's Blobs). It only streams: the Scanner checks every blob against
// its digest and size as it reads.
type S3Blobs struct {
	S3 *s3.S3Service
}

var _ Blobs = S3Blobs{}

// Open streams the blob d from its content-addressed key.
func (b S3Blobs) Open(ctx context.Context, d oci.Digest) (io.ReadCloser, error) {
	rc, _, err := b.S3.Open(ctx, s3.BlobKey(d))
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", d, err)
	}
	return rc, nil
}
