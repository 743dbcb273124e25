package s3

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Part is one uploaded part of a multipart upload.
type Part struct {
	Number int32
	ETag   string
	Size   int64 // filled by ListParts and UploadPart
}

// maxS3UploadIDLen bounds the opaque upload ID S3 hands out before it is
// echoed back in a request; real IDs are a few hundred bytes at most.
const maxS3UploadIDLen = 1024

// CreateMultipartUpload starts a multipart upload to key and returns S3's
// upload ID (not to be confused with the hold's upload-session IDs that
// UploadKey validates).
func (s *S3Service) CreateMultipartUpload(ctx context.Context, key string) (string, error) {
	if err := validateKey(key); err != nil {
		return "", fmt.Errorf("create multipart upload: %w", err)
	}
	out, err := s.client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return "", fmt.Errorf("create multipart upload %s: %w", key, mapErr(err))
	}
	id := aws.ToString(out.UploadId)
	if id == "" {
		return "", fmt.Errorf("create multipart upload %s: server returned no upload ID", key)
	}
	return id, nil
}

// UploadPart sends one part through the service: the buffered fallback for
// clients that cannot PUT to a presigned part URL themselves. body must be
// seekable so the SDK can sign its payload and retry.
func (s *S3Service) UploadPart(ctx context.Context, key, uploadID string, partNumber int32, body io.ReadSeeker) (Part, error) {
	if err := checkMultipartArgs(key, uploadID, partNumber); err != nil {
		return Part{}, fmt.Errorf("upload part: %w", err)
	}
	return s.uploadPart(ctx, key, uploadID, partNumber, body)
}

func (s *S3Service) uploadPart(ctx context.Context, key, uploadID string, partNumber int32, body io.ReadSeeker) (Part, error) {
	size, err := body.Seek(0, io.SeekEnd)
	if err == nil {
		_, err = body.Seek(0, io.SeekStart)
	}
	if err != nil {
		return Part{}, fmt.Errorf("upload part %d of %s: measure body: %w", partNumber, key, err)
	}
	out, err := s.client.UploadPart(ctx, &awss3.UploadPartInput{
		Bucket:        &s.bucket,
		Key:           &key,
		UploadId:      &uploadID,
		PartNumber:    &partNumber,
		Body:          body,
		ContentLength: &size,
	})
	if err != nil {
		return Part{}, fmt.Errorf("upload part %d of %s: %w", partNumber, key, mapErr(err))
	}
	return Part{Number: partNumber, ETag: quoteETag(aws.ToString(out.ETag)), Size: size}, nil
}

// CompleteMultipartUpload assembles the parts (in part-number order,
// whatever order they are given in) into the object at key. ETags are
// normalised to S3's quoted form first: clients that read the ETag header of
// a presigned part PUT sometimes strip the quotes, and some servers then
// refuse the completion.
func (s *S3Service) CompleteMultipartUpload(ctx context.Context, key, uploadID string, parts []Part) error {
	if err := checkMultipartArgs(key, uploadID, 1); err != nil {
		return fmt.Errorf("complete multipart upload: %w", err)
	}
	if len(parts) == 0 || len(parts) > MaxParts {
		return fmt.Errorf("complete multipart upload %s: %d parts, want 1-%d", key, len(parts), MaxParts)
	}
	sorted := slices.Clone(parts)
	slices.SortFunc(sorted, func(a, b Part) int { return int(a.Number) - int(b.Number) })
	completed := make([]types.CompletedPart, len(sorted))
	for i, p := range sorted {
		if p.Number < 1 || p.Number > MaxParts || (i > 0 && p.Number == sorted[i-1].Number) {
			return fmt.Errorf("complete multipart upload %s: bad or repeated part number %d", key, p.Number)
		}
		if strings.Trim(p.ETag, `"`) == "" {
			return fmt.Errorf("complete multipart upload %s: part %d has no ETag", key, p.Number)
		}
		completed[i] = types.CompletedPart{PartNumber: aws.Int32(p.Number), ETag: aws.String(quoteETag(p.ETag))}
	}
	_, err := s.client.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{
		Bucket:          &s.bucket,
		Key:             &key,
		UploadId:        &uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: completed},
	})
	if err != nil {
		return fmt.Errorf("complete multipart upload %s: %w", key, mapErr(err))
	}
	return nil
}

// AbortMultipartUpload discards an upload and its parts.
func (s *S3Service) AbortMultipartUpload(ctx context.Context, key, uploadID string) error {
	if err := checkMultipartArgs(key, uploadID, 1); err != nil {
		return fmt.Errorf("abort multipart upload: %w", err)
	}
	_, err := s.client.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &key, UploadId: &uploadID})
	if err != nil {
		return fmt.Errorf("abort multipart upload %s: %w", key, mapErr(err))
	}
	return nil
}

// ListParts returns every part uploaded so far, in part-number order. An
// unknown upload is an error wrapping ErrNotFound.
func (s *S3Service) ListParts(ctx context.Context, key, uploadID string) ([]Part, error) {
	if err := checkMultipartArgs(key, uploadID, 1); err != nil {
		return nil, fmt.Errorf("list parts: %w", err)
	}
	var parts []Part
	in := &awss3.ListPartsInput{Bucket: &s.bucket, Key: &key, UploadId: &uploadID}
	for {
		out, err := s.client.ListParts(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list parts of %s: %w", key, mapErr(err))
		}
		for _, p := range out.Parts {
			parts = append(parts, Part{Number: aws.ToInt32(p.PartNumber), ETag: quoteETag(aws.ToString(p.ETag)), Size: aws.ToInt64(p.Size)})
		}
		if !aws.ToBool(out.IsTruncated) || out.NextPartNumberMarker == nil || len(parts) > MaxParts {
			break
		}
		in.PartNumberMarker = out.NextPartNumberMarker
	}
	return parts, nil
}

func checkMultipartArgs(key, uploadID string, partNumber int32) error {
	if err := validateKey(key); err != nil {
		return err
	}
	if uploadID == "" || len(uploadID) > maxS3UploadIDLen {
		return fmt.Errorf("%w: S3 upload ID must be 1-%d bytes", ErrInvalidKey, maxS3UploadIDLen)
	}
	if partNumber < 1 || partNumber > MaxParts {
		return fmt.Errorf("%w: part number %d outside 1-%d", ErrInvalidKey, partNumber, MaxParts)
	}
	return nil
}

// quoteETag returns etag in S3's quoted form ("abc" → "\"abc\""), leaving an
// already quoted one alone.
func quoteETag(etag string) string {
	if etag == "" {
		return ""
	}
	return `"` + strings.Trim(etag, `"`) + `"`
}
