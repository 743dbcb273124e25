package s3

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// ListObjectsV2 implements Client with S3's paging rules: keys in byte order,
// at most MaxKeys (default and cap 1000) per page, an opaque continuation
// token, and StartAfter. Delimiter is not supported and is refused rather
// than ignored.
func (m *MockS3Client) ListObjectsV2(_ context.Context, in *awss3.ListObjectsV2Input, _ ...func(*awss3.Options)) (*awss3.ListObjectsV2Output, error) {
	if aws.ToString(in.Delimiter) != "" {
		return nil, apiError("NotImplemented", "mock: Delimiter is not supported")
	}
	after := aws.ToString(in.StartAfter)
	if tok := aws.ToString(in.ContinuationToken); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			return nil, apiError("InvalidArgument", "mock: bad continuation token")
		}
		after = string(raw)
	}
	limit := int(aws.ToInt32(in.MaxKeys))
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	prefix := aws.ToString(in.Prefix)

	m.mu.Lock()
	defer m.mu.Unlock()
	b, err := m.bucketLocked(in.Bucket)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(b))
	for k := range b {
		if strings.HasPrefix(k, prefix) && k > after {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := &awss3.ListObjectsV2Output{Name: in.Bucket, Prefix: in.Prefix, MaxKeys: aws.Int32(int32(limit))}
	if len(keys) > limit {
		keys = keys[:limit]
		out.IsTruncated = aws.Bool(true)
		out.NextContinuationToken = aws.String(base64.RawURLEncoding.EncodeToString([]byte(keys[limit-1])))
	} else {
		out.IsTruncated = aws.Bool(false)
	}
	for _, k := range keys {
		o := b[k]
		out.Contents = append(out.Contents, types.Object{
			Key: aws.String(k), Size: aws.Int64(int64(len(o.data))), ETag: aws.String(o.etag), LastModified: aws.Time(o.modified),
		})
	}
	out.KeyCount = aws.Int32(int32(len(out.Contents)))
	return out, nil
}
