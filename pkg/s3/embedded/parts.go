package embedded

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/versity/versitygw/s3api/middlewares"
	"github.com/versity/versitygw/s3response"
)

// UploadPart is versitygw's, with the part's bytes also written to the
// upload's assembly file (assembly.go) when the upload is a staging
// object's. Such a part's CRC64NVME, which versitygw keeps for every part
// (the part's ETag, the object's checksum), is computed here
// (checksum.go) unless the request brings a checksum of its own.
func (b tunedBackend) UploadPart(ctx context.Context, in *s3.UploadPartInput) (*s3.UploadPartOutput, error) {
	u, w := b.assemblyWriter(in)
	if w == nil {
		return b.Posix.UploadPart(ctx, in)
	}
	teed := *in
	teed.Body = w.tee(in.Body)
	if !hasChecksum(in) && u.fastCRC64(func() bool { return b.uploadTakesCRC64NVME(*in.Bucket, *in.Key, *in.UploadId) }) {
		teed.Body = withFastCRC64NVME(teed.Body)
	}
	out, err := b.Posix.UploadPart(ctx, &teed)
	etag := ""
	if err == nil && out != nil && out.ETag != nil {
		etag = *out.ETag
	}
	w.finish(err == nil, etag)
	if err != nil && u.unused() {
		// Nothing of this upload was stored (perhaps there is no such
		// upload): do not keep a file for it.
		b.asm.drop(*in.Bucket, *in.UploadId)
	}
	return out, err
}

// assemblyWriter returns the writer for a part of an upload assembled in
// place, or nil. A part it cannot place breaks its upload's assembly.
func (b tunedBackend) assemblyWriter(in *s3.UploadPartInput) (*assembly, *partWriter) {
	if b.asm == nil || in.Bucket == nil || in.Key == nil || in.UploadId == nil || in.PartNumber == nil {
		return nil, nil
	}
	u := b.asm.forUpload(*in.Bucket, *in.Key, *in.UploadId, true)
	if u == nil {
		return nil, nil
	}
	if _, chunked := in.Body.(middlewares.ChecksumReader); chunked || in.ContentLength == nil || in.Body == nil {
		// versitygw reads a trailing checksum through the body's own type,
		// which a wrapper would hide.
		u.breakAssembly("a part without a plain body of known length")
		return nil, nil
	}
	w := u.startPart(*in.PartNumber, *in.ContentLength)
	if w == nil {
		return nil, nil
	}
	return u, w
}

// UploadPartCopy is versitygw's; a part copied server-side is not in the
// assembly file, so its upload completes by copying its parts.
func (b tunedBackend) UploadPartCopy(ctx context.Context, in *s3.UploadPartCopyInput) (s3response.CopyPartResult, error) {
	if b.asm != nil && in.Bucket != nil && in.Key != nil && in.UploadId != nil {
		if u := b.asm.forUpload(*in.Bucket, *in.Key, *in.UploadId, false); u != nil {
			u.breakAssembly("a part copied server-side")
		}
	}
	return b.Posix.UploadPartCopy(ctx, in)
}

// AbortMultipartUpload is versitygw's; the upload's assembly goes too.
func (b tunedBackend) AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput) error {
	err := b.Posix.AbortMultipartUpload(ctx, in)
	if in.Bucket != nil && in.UploadId != nil {
		b.asm.drop(*in.Bucket, *in.UploadId)
	}
	return err
}
