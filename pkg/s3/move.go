package s3

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// Move renames src to dst inside the bucket: a server-side copy, then a
// delete of src. Objects larger than MultipartCopyThreshold (S3 refuses
// CopyObject above 5 GiB) are copied with UploadPartCopy in CopyPartSize
// ranges. The bytes never pass through this process. If the copy fails, src
// is untouched and nothing is left at dst; if only the delete fails, dst is
// complete and the error says so. An object already at dst is replaced: S3
// writes whole objects, so a reader sees the old one or the new one (the
// hold relies on this to put a verified copy over a blob it distrusts).
func (s *S3Service) Move(ctx context.Context, src, dst string) error {
	if err := validateKey(src); err != nil {
		return fmt.Errorf("move: source: %w", err)
	}
	if err := validateKey(dst); err != nil {
		return fmt.Errorf("move: destination: %w", err)
	}
	if src == dst {
		// Copy-onto-itself then delete would destroy the object.
		return fmt.Errorf("move %s: %w: source and destination are the same", src, ErrInvalidKey)
	}
	info, err := s.Stat(ctx, src)
	if err != nil {
		return fmt.Errorf("move %s: %w", src, err)
	}
	if info.Size > s.MultipartCopyThreshold {
		err = s.copyMultipart(ctx, src, dst, info.Size)
	} else {
		_, err = s.client.CopyObject(ctx, &awss3.CopyObjectInput{
			Bucket:     &s.bucket,
			Key:        &dst,
			CopySource: aws.String(s.copySource(src)),
		})
		err = mapErr(err)
	}
	if err != nil {
		return fmt.Errorf("move %s to %s: copy: %w", src, dst, err)
	}
	if err := s.Delete(ctx, src); err != nil {
		return fmt.Errorf("move %s to %s: copied, but removing the source failed: %w", src, dst, err)
	}
	return nil
}

// copyMultipart copies size bytes of src to dst as a multipart upload of
// UploadPartCopy ranges.
func (s *S3Service) copyMultipart(ctx context.Context, src, dst string, size int64) error {
	partSize := max(s.CopyPartSize, MinPartSize)
	if (size+partSize-1)/partSize > MaxParts {
		return fmt.Errorf("%d bytes need more than %d parts of %d bytes", size, MaxParts, partSize)
	}
	uploadID, err := s.CreateMultipartUpload(ctx, dst)
	if err != nil {
		return err
	}
	var parts []Part
	source := s.copySource(src)
	for start, num := int64(0), int32(1); start < size; start, num = start+partSize, num+1 {
		end := min(start+partSize, size) - 1
		out, err := s.client.UploadPartCopy(ctx, &awss3.UploadPartCopyInput{
			Bucket:          &s.bucket,
			Key:             &dst,
			UploadId:        &uploadID,
			PartNumber:      aws.Int32(num),
			CopySource:      &source,
			CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", start, end)),
		})
		if err != nil {
			s.abortQuietly(ctx, dst, uploadID)
			return fmt.Errorf("copy part %d: %w", num, mapErr(err))
		}
		var etag string
		if out.CopyPartResult != nil {
			etag = aws.ToString(out.CopyPartResult.ETag)
		}
		parts = append(parts, Part{Number: num, ETag: etag, Size: end - start + 1})
	}
	if err := s.CompleteMultipartUpload(ctx, dst, uploadID, parts); err != nil {
		s.abortQuietly(ctx, dst, uploadID)
		return err
	}
	return nil
}

// copySource is the x-amz-copy-source value "bucket/key", each path segment
// URL-escaped as S3 requires.
func (s *S3Service) copySource(key string) string {
	segs := strings.Split(key, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return s.bucket + "/" + strings.Join(segs, "/")
}
