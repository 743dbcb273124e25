package s3

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

func newMockService(t *testing.T, client Client) *S3Service {
	t.Helper()
	svc, err := NewWithClient(client, nil, Params{Bucket: "atcr"})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestListPartsPaginates(t *testing.T) {
	ctx := t.Context()
	svc := newMockService(t, NewMockS3Client("atcr"))
	id, err := svc.CreateMultipartUpload(ctx, "uploads/many/data")
	if err != nil {
		t.Fatal(err)
	}
	const n = 1001 // the mock, like S3, returns at most 1000 parts a page
	for i := int32(1); i <= n; i++ {
		if _, err := svc.UploadPart(ctx, "uploads/many/data", id, i, bytes.NewReader([]byte{byte(i)})); err != nil {
			t.Fatal(err)
		}
	}
	parts, err := svc.ListParts(ctx, "uploads/many/data", id)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != n || parts[0].Number != 1 || parts[n-1].Number != n {
		t.Errorf("ListParts returned %d parts (first %d, last %d), want 1..%d", len(parts), parts[0].Number, parts[len(parts)-1].Number, n)
	}
}

// flakyParts fails UploadPart for one part number and records how many part
// uploads ran at once.
type flakyParts struct {
	*MockS3Client
	failPart          int32
	inFlight, maxSeen atomic.Int32
}

var errPartUpload = errors.New("part upload failed")

func (f *flakyParts) UploadPart(ctx context.Context, in *awss3.UploadPartInput, o ...func(*awss3.Options)) (*awss3.UploadPartOutput, error) {
	cur := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		seen := f.maxSeen.Load()
		if cur <= seen || f.maxSeen.CompareAndSwap(seen, cur) {
			break
		}
	}
	if aws.ToInt32(in.PartNumber) == f.failPart {
		return nil, errPartUpload
	}
	return f.MockS3Client.UploadPart(ctx, in, o...)
}

func TestPutAbortsOnPartFailure(t *testing.T) {
	mock := NewMockS3Client("atcr")
	svc := newMockService(t, &flakyParts{MockS3Client: mock, failPart: 2})
	svc.PutPartSize = MinPartSize
	_, err := svc.Put(t.Context(), "uploads/x/data", bytes.NewReader(make([]byte, 3*MinPartSize+1)))
	if !errors.Is(err, errPartUpload) {
		t.Fatalf("Put: err = %v, want the part failure", err)
	}
	if mock.UploadCount() != 0 {
		t.Errorf("%d multipart uploads left open; Put should abort on failure", mock.UploadCount())
	}
	if mock.ObjectCount("atcr") != 0 {
		t.Errorf("failed Put left %d objects", mock.ObjectCount("atcr"))
	}
}

func TestPutBoundsConcurrency(t *testing.T) {
	for _, workers := range []int{1, 3} {
		flaky := &flakyParts{MockS3Client: NewMockS3Client("atcr")}
		svc := newMockService(t, flaky)
		svc.PutPartSize, svc.PutConcurrency = MinPartSize, workers
		size := int64(8*MinPartSize + 17)
		n, err := svc.Put(t.Context(), "uploads/c/data", io.LimitReader(zeroReader{}, size))
		if err != nil || n != size {
			t.Fatalf("Put = %d, %v", n, err)
		}
		if got := flaky.maxSeen.Load(); got > int32(workers) {
			t.Errorf("PutConcurrency %d: saw %d part uploads at once", workers, got)
		}
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestMockFidelity(t *testing.T) {
	ctx := t.Context()
	mock := NewMockS3Client("atcr")
	svc := newMockService(t, mock)
	id, err := svc.CreateMultipartUpload(ctx, "uploads/small/data")
	if err != nil {
		t.Fatal(err)
	}
	p1, _ := svc.UploadPart(ctx, "uploads/small/data", id, 1, bytes.NewReader([]byte("tiny")))
	p2, _ := svc.UploadPart(ctx, "uploads/small/data", id, 2, bytes.NewReader([]byte("tail")))
	err = svc.CompleteMultipartUpload(ctx, "uploads/small/data", id, []Part{p1, p2})
	if err == nil || !strings.Contains(err.Error(), "EntityTooSmall") {
		t.Errorf("completing with a 4-byte first part: err = %v, want EntityTooSmall as S3", err)
	}
	_, err = mock.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("atcr"), Delimiter: aws.String("/")})
	if err == nil {
		t.Error("mock accepted a Delimiter it does not implement")
	}
	if _, err := mock.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("nope"), Key: aws.String("k")}); !errors.Is(mapErr(err), ErrNotFound) {
		t.Errorf("PutObject to a missing bucket: %v, want NoSuchBucket", err)
	}
}
