package s3

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"atcr.io/pkg/oci"
)

// ErrStopWalk may be returned by a WalkBlobs or ListPrefix callback to end the
// listing early; the walk then returns nil.
var ErrStopWalk = errors.New("stop walk")

// BlobInfo describes one content-addressed blob found by WalkBlobs.
type BlobInfo struct {
	Digest oci.Digest
	ObjectInfo
}

// WalkBlobs calls fn for every blob under BlobPrefix, one ListObjectsV2 page
// at a time, so the bucket listing is never held in memory whole. Keys under
// the prefix that are not well-formed blob keys (see DigestFromBlobKey) are
// skipped and logged at debug level: a garbage collector must never act on
// a key it cannot parse. An error from fn stops the walk and is returned
// (ErrStopWalk stops it quietly).
func (s *S3Service) WalkBlobs(ctx context.Context, fn func(BlobInfo) error) error {
	err := s.ListPrefix(ctx, BlobPrefix, func(obj ObjectInfo) error {
		d, ok := DigestFromBlobKey(obj.Key)
		if !ok {
			s.Logger.Debug("walk blobs: skipping key that is not a blob key", "key", obj.Key)
			return nil
		}
		return fn(BlobInfo{Digest: d, ObjectInfo: obj})
	})
	if err != nil {
		return fmt.Errorf("walk blobs: %w", err)
	}
	return nil
}

// ListPrefix calls fn for every object whose key starts with prefix, in key
// order, fetching ListPageSize keys per request. An empty prefix lists the
// whole bucket. An error from fn stops the listing and is returned
// (ErrStopWalk stops it quietly).
func (s *S3Service) ListPrefix(ctx context.Context, prefix string, fn func(ObjectInfo) error) error {
	if err := validatePrefix(prefix); err != nil {
		return fmt.Errorf("list %q: %w", prefix, err)
	}
	pageSize := s.ListPageSize
	if pageSize <= 0 || pageSize > DefaultListPageSize {
		pageSize = DefaultListPageSize
	}
	in := &awss3.ListObjectsV2Input{Bucket: &s.bucket, MaxKeys: aws.Int32(pageSize)}
	if prefix != "" {
		in.Prefix = &prefix
	}
	for {
		out, err := s.client.ListObjectsV2(ctx, in)
		if err != nil {
			return fmt.Errorf("list %q: %w", prefix, mapErr(err))
		}
		for _, o := range out.Contents {
			err := fn(ObjectInfo{
				Key:          aws.ToString(o.Key),
				Size:         aws.ToInt64(o.Size),
				ETag:         aws.ToString(o.ETag),
				LastModified: aws.ToTime(o.LastModified),
			})
			if errors.Is(err, ErrStopWalk) {
				return nil
			}
			if err != nil {
				return err
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			return nil
		}
		if aws.ToString(out.NextContinuationToken) == "" {
			return fmt.Errorf("list %q: truncated page without a continuation token", prefix)
		}
		in.ContinuationToken = out.NextContinuationToken
	}
}
