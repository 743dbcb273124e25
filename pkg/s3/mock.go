package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// MockS3Client is an in-memory S3 for unit tests: buckets, objects,
// server-side copy, paginated listing and multipart uploads (with S3's 5 MiB
// minimum part size and its quoted-ETag matching on completion). It returns
// the SDK's own error types (NotFound, NoSuchKey, NoSuchUpload, NoSuchBucket)
// so error mapping is exercised as against a real server. It does not check
// signatures; use the embedded versitygw server for that. Safe for
// concurrent use.
type MockS3Client struct {
	mu      sync.Mutex
	buckets map[string]map[string]mockObject
	uploads map[string]*mockUpload
	seq     int
}

type mockObject struct {
	data     []byte
	etag     string // quoted
	modified time.Time
}

type mockUpload struct {
	bucket, key string
	parts       map[int32]mockObject
}

var _ Client = (*MockS3Client)(nil)

// NewMockS3Client returns an empty store with the given buckets created.
func NewMockS3Client(buckets ...string) *MockS3Client {
	m := &MockS3Client{buckets: map[string]map[string]mockObject{}, uploads: map[string]*mockUpload{}}
	for _, b := range buckets {
		m.buckets[b] = map[string]mockObject{}
	}
	return m
}

func apiError(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }

func newMockObject(data []byte) mockObject {
	sum := md5.Sum(data)
	return mockObject{data: data, etag: `"` + hex.EncodeToString(sum[:]) + `"`, modified: time.Now().UTC()}
}

// bucketLocked returns the bucket's object map; m.mu must be held.
func (m *MockS3Client) bucketLocked(name *string) (map[string]mockObject, error) {
	b, ok := m.buckets[aws.ToString(name)]
	if !ok {
		return nil, &types.NoSuchBucket{Message: aws.String("no bucket " + aws.ToString(name))}
	}
	return b, nil
}

// objectLocked returns one object or NoSuchKey; m.mu must be held.
func (m *MockS3Client) objectLocked(bucket, key *string) (mockObject, error) {
	b, err := m.bucketLocked(bucket)
	if err != nil {
		return mockObject{}, err
	}
	o, ok := b[aws.ToString(key)]
	if !ok {
		return mockObject{}, &types.NoSuchKey{Message: aws.String("no key " + aws.ToString(key))}
	}
	return o, nil
}

// HeadBucket implements Client.
func (m *MockS3Client) HeadBucket(_ context.Context, in *awss3.HeadBucketInput, _ ...func(*awss3.Options)) (*awss3.HeadBucketOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.buckets[aws.ToString(in.Bucket)]; !ok {
		return nil, &types.NotFound{}
	}
	return &awss3.HeadBucketOutput{}, nil
}

// CreateBucket implements Client.
func (m *MockS3Client) CreateBucket(_ context.Context, in *awss3.CreateBucketInput, _ ...func(*awss3.Options)) (*awss3.CreateBucketOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	name := aws.ToString(in.Bucket)
	if _, ok := m.buckets[name]; ok {
		return nil, &types.BucketAlreadyOwnedByYou{}
	}
	m.buckets[name] = map[string]mockObject{}
	return &awss3.CreateBucketOutput{}, nil
}

// HeadObject implements Client.
func (m *MockS3Client) HeadObject(_ context.Context, in *awss3.HeadObjectInput, _ ...func(*awss3.Options)) (*awss3.HeadObjectOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, err := m.objectLocked(in.Bucket, in.Key)
	if err != nil {
		return nil, &types.NotFound{} // HEAD has no body, so S3 cannot say which
	}
	return &awss3.HeadObjectOutput{
		ContentLength: aws.Int64(int64(len(o.data))), ETag: aws.String(o.etag), LastModified: aws.Time(o.modified),
	}, nil
}

// GetObject implements Client (without Range support: S3Service never asks).
func (m *MockS3Client) GetObject(_ context.Context, in *awss3.GetObjectInput, _ ...func(*awss3.Options)) (*awss3.GetObjectOutput, error) {
	if in.Range != nil {
		return nil, apiError("NotImplemented", "mock: Range is not supported")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	o, err := m.objectLocked(in.Bucket, in.Key)
	if err != nil {
		return nil, err
	}
	return &awss3.GetObjectOutput{
		Body:          io.NopCloser(bytes.NewReader(o.data)),
		ContentLength: aws.Int64(int64(len(o.data))), ETag: aws.String(o.etag), LastModified: aws.Time(o.modified),
	}, nil
}

// PutObject implements Client.
func (m *MockS3Client) PutObject(_ context.Context, in *awss3.PutObjectInput, _ ...func(*awss3.Options)) (*awss3.PutObjectOutput, error) {
	data, err := readBody(in.Body)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b, err := m.bucketLocked(in.Bucket)
	if err != nil {
		return nil, err
	}
	o := newMockObject(data)
	b[aws.ToString(in.Key)] = o
	return &awss3.PutObjectOutput{ETag: aws.String(o.etag)}, nil
}

// CopyObject implements Client.
func (m *MockS3Client) CopyObject(_ context.Context, in *awss3.CopyObjectInput, _ ...func(*awss3.Options)) (*awss3.CopyObjectOutput, error) {
	srcBucket, srcKey, err := parseCopySource(aws.ToString(in.CopySource))
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	src, err := m.objectLocked(&srcBucket, &srcKey)
	if err != nil {
		return nil, err
	}
	if srcBucket == aws.ToString(in.Bucket) && srcKey == aws.ToString(in.Key) {
		return nil, apiError("InvalidRequest", "copy onto itself without changing anything")
	}
	dst, err := m.bucketLocked(in.Bucket)
	if err != nil {
		return nil, err
	}
	src.modified = time.Now().UTC()
	dst[aws.ToString(in.Key)] = src
	return &awss3.CopyObjectOutput{CopyObjectResult: &types.CopyObjectResult{ETag: aws.String(src.etag)}}, nil
}

// DeleteObject implements Client; deleting a missing key succeeds, as in S3.
func (m *MockS3Client) DeleteObject(_ context.Context, in *awss3.DeleteObjectInput, _ ...func(*awss3.Options)) (*awss3.DeleteObjectOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, err := m.bucketLocked(in.Bucket)
	if err != nil {
		return nil, err
	}
	delete(b, aws.ToString(in.Key))
	return &awss3.DeleteObjectOutput{}, nil
}

// ObjectCount returns how many objects bucket holds (for test assertions).
func (m *MockS3Client) ObjectCount(bucket string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.buckets[bucket])
}

func readBody(r io.Reader) ([]byte, error) {
	if r == nil {
		return []byte{}, nil
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("mock: read body: %w", err)
	}
	return data, nil
}

// parseCopySource splits "bucket/escaped/key" (an optional leading "/" and
// "?versionId" are not supported).
func parseCopySource(src string) (bucket, key string, err error) {
	bucket, escaped, ok := strings.Cut(src, "/")
	if !ok || bucket == "" || escaped == "" {
		return "", "", apiError("InvalidArgument", "mock: bad copy source "+src)
	}
	key, err = url.PathUnescape(escaped)
	if err != nil {
		return "", "", apiError("InvalidArgument", "mock: bad copy source "+src)
	}
	return bucket, key, nil
}
