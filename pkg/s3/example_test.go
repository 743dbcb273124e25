package s3_test

import (
	"context"
	"errors"
	"fmt"

	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

func ExampleBlobKey() {
	d, err := oci.ParseDigest("sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
	fmt.Println(s3.BlobKey(d), err)
	// A string that is not a digest never gets as far as a key.
	_, err = oci.ParseDigest("sha256:../../etc/passwd")
	fmt.Println(errors.Is(err, oci.ErrInvalidDigest))
	// Output:
	// blobs/sha256/2c/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824/data <nil>
	// true
}

func ExampleS3Service_WalkBlobs() {
	ctx := context.Background()
	svc, _ := s3.NewWithClient(s3.NewMockS3Client("atcr"), nil, s3.Params{Bucket: "atcr"})
	data := []byte("hello")
	_ = svc.PutBytes(ctx, s3.BlobKey(oci.FromBytes(oci.SHA256, data)), data)
	_ = svc.PutBytes(ctx, "blobs/not-a-blob", []byte("skipped"))

	_ = svc.WalkBlobs(ctx, func(b s3.BlobInfo) error {
		fmt.Println(b.Digest, b.Size)
		return nil
	})
	// Output:
	// sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824 5
}
