package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// uploadLocked returns the upload for (id, bucket, key) or NoSuchUpload;
// m.mu must be held.
func (m *MockS3Client) uploadLocked(id, bucket, key *string) (*mockUpload, error) {
	u, ok := m.uploads[aws.ToString(id)]
	if !ok || u.bucket != aws.ToString(bucket) || u.key != aws.ToString(key) {
		return nil, &types.NoSuchUpload{Message: aws.String("no upload " + aws.ToString(id))}
	}
	return u, nil
}

// CreateMultipartUpload implements Client.
func (m *MockS3Client) CreateMultipartUpload(_ context.Context, in *awss3.CreateMultipartUploadInput, _ ...func(*awss3.Options)) (*awss3.CreateMultipartUploadOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.bucketLocked(in.Bucket); err != nil {
		return nil, err
	}
	m.seq++
	id := fmt.Sprintf("mock-%d-%s", m.seq, rand.Text())
	m.uploads[id] = &mockUpload{bucket: aws.ToString(in.Bucket), key: aws.ToString(in.Key), parts: map[int32]mockObject{}}
	return &awss3.CreateMultipartUploadOutput{Bucket: in.Bucket, Key: in.Key, UploadId: aws.String(id)}, nil
}

// UploadPart implements Client.
func (m *MockS3Client) UploadPart(_ context.Context, in *awss3.UploadPartInput, _ ...func(*awss3.Options)) (*awss3.UploadPartOutput, error) {
	data, err := readBody(in.Body)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	u, err := m.uploadLocked(in.UploadId, in.Bucket, in.Key)
	if err != nil {
		return nil, err
	}
	if n := aws.ToInt32(in.PartNumber); n < 1 || n > MaxParts {
		return nil, apiError("InvalidArgument", "mock: part number out of range")
	}
	p := newMockObject(data)
	u.parts[aws.ToInt32(in.PartNumber)] = p
	return &awss3.UploadPartOutput{ETag: aws.String(p.etag)}, nil
}

// UploadPartCopy implements Client for "bytes=first-last" ranges.
func (m *MockS3Client) UploadPartCopy(_ context.Context, in *awss3.UploadPartCopyInput, _ ...func(*awss3.Options)) (*awss3.UploadPartCopyOutput, error) {
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
	u, err := m.uploadLocked(in.UploadId, in.Bucket, in.Key)
	if err != nil {
		return nil, err
	}
	data := src.data
	if r := aws.ToString(in.CopySourceRange); r != "" {
		first, last, ok := parseByteRange(r)
		if !ok || last >= int64(len(data)) {
			return nil, apiError("InvalidRange", "mock: bad copy range "+r)
		}
		data = data[first : last+1]
	}
	p := newMockObject(bytes.Clone(data))
	u.parts[aws.ToInt32(in.PartNumber)] = p
	return &awss3.UploadPartCopyOutput{CopyPartResult: &types.CopyPartResult{ETag: aws.String(p.etag)}}, nil
}

// CompleteMultipartUpload implements Client with S3's checks: parts listed in
// ascending order, each ETag equal to the stored (quoted) one, every part
// but the last at least MinPartSize. The object's ETag is S3's
// md5-of-md5s-"-N" form.
func (m *MockS3Client) CompleteMultipartUpload(_ context.Context, in *awss3.CompleteMultipartUploadInput, _ ...func(*awss3.Options)) (*awss3.CompleteMultipartUploadOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, err := m.uploadLocked(in.UploadId, in.Bucket, in.Key)
	if err != nil {
		return nil, err
	}
	if in.MultipartUpload == nil || len(in.MultipartUpload.Parts) == 0 {
		return nil, apiError("MalformedXML", "mock: no parts")
	}
	listed := in.MultipartUpload.Parts
	var data, sums []byte
	for i, cp := range listed {
		n := aws.ToInt32(cp.PartNumber)
		if i > 0 && n <= aws.ToInt32(listed[i-1].PartNumber) {
			return nil, apiError("InvalidPartOrder", "mock: parts not in ascending order")
		}
		p, ok := u.parts[n]
		if !ok || aws.ToString(cp.ETag) != p.etag {
			return nil, apiError("InvalidPart", fmt.Sprintf("mock: part %d missing or ETag %q != %q", n, aws.ToString(cp.ETag), p.etag))
		}
		if i < len(listed)-1 && len(p.data) < MinPartSize {
			return nil, apiError("EntityTooSmall", fmt.Sprintf("mock: part %d is %d bytes", n, len(p.data)))
		}
		data = append(data, p.data...)
		raw, _ := hex.DecodeString(strings.Trim(p.etag, `"`))
		sums = append(sums, raw...)
	}
	b, err := m.bucketLocked(in.Bucket)
	if err != nil {
		return nil, err
	}
	sum := md5.Sum(sums)
	etag := fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(sum[:]), len(listed))
	b[u.key] = mockObject{data: data, etag: etag, modified: time.Now().UTC()}
	delete(m.uploads, aws.ToString(in.UploadId))
	return &awss3.CompleteMultipartUploadOutput{Bucket: in.Bucket, Key: in.Key, ETag: aws.String(etag)}, nil
}

// AbortMultipartUpload implements Client.
func (m *MockS3Client) AbortMultipartUpload(_ context.Context, in *awss3.AbortMultipartUploadInput, _ ...func(*awss3.Options)) (*awss3.AbortMultipartUploadOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.uploadLocked(in.UploadId, in.Bucket, in.Key); err != nil {
		return nil, err
	}
	delete(m.uploads, aws.ToString(in.UploadId))
	return &awss3.AbortMultipartUploadOutput{}, nil
}

// ListParts implements Client, paging by MaxParts (default 1000) and
// PartNumberMarker.
func (m *MockS3Client) ListParts(_ context.Context, in *awss3.ListPartsInput, _ ...func(*awss3.Options)) (*awss3.ListPartsOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, err := m.uploadLocked(in.UploadId, in.Bucket, in.Key)
	if err != nil {
		return nil, err
	}
	marker, _ := strconv.Atoi(aws.ToString(in.PartNumberMarker))
	limit := int(aws.ToInt32(in.MaxParts))
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	var nums []int32
	for n := range u.parts {
		if int(n) > marker {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	out := &awss3.ListPartsOutput{IsTruncated: aws.Bool(len(nums) > limit)}
	if len(nums) > limit {
		nums = nums[:limit]
		out.NextPartNumberMarker = aws.String(strconv.Itoa(int(nums[limit-1])))
	}
	for _, n := range nums {
		p := u.parts[n]
		out.Parts = append(out.Parts, types.Part{PartNumber: aws.Int32(n), ETag: aws.String(p.etag), Size: aws.Int64(int64(len(p.data)))})
	}
	return out, nil
}

// UploadCount returns how many multipart uploads are open (for assertions
// that failed uploads were aborted).
func (m *MockS3Client) UploadCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.uploads)
}

// parseByteRange parses "bytes=first-last".
func parseByteRange(r string) (first, last int64, ok bool) {
	spec, found := strings.CutPrefix(r, "bytes=")
	a, b, found2 := strings.Cut(spec, "-")
	if !found || !found2 {
		return 0, 0, false
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	return first, last, err1 == nil && err2 == nil && first >= 0 && first <= last
}
