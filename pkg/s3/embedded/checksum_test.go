package embedded

import (
	"bytes"
	"encoding/base64"
	"hash/crc64"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/versity/versitygw/s3response"

	"atcr.io/pkg/s3"
)

// crc64NVME is the sum as versitygw computes it, with the standard
// library (its table is the NVMe polynomial, reflected).
func crc64NVME(b []byte) string {
	h := crc64.New(crc64.MakeTable(0x9a6c9329ac4bc9b5))
	h.Write(b)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// uploadPart sends one part straight to the backend, as the gateway does
// after checking the request's signature.
func uploadPart(t *testing.T, srv *Server, key, id string, n int32, body []byte, edit func(*awss3.UploadPartInput)) (*awss3.UploadPartOutput, error) {
	t.Helper()
	in := &awss3.UploadPartInput{
		Bucket: aws.String(srv.creds.Bucket), Key: aws.String(key), UploadId: aws.String(id),
		PartNumber: aws.Int32(n), ContentLength: aws.Int64(int64(len(body))), Body: bytes.NewReader(body),
	}
	if edit != nil {
		edit(in)
	}
	return srv.backend.UploadPart(t.Context(), in)
}

// A staging upload's parts get their CRC64NVME from the fast
// implementation (the answer then names the checksum, which versitygw's
// own path does not), and it is the very sum versitygw computes: the
// part's ETag is the same as for the same bytes outside the staging
// prefix, and both objects complete with the same checksum ETag.
func TestStagingPartChecksumIsVersitygws(t *testing.T) {
	srv := startServer(t, Options{DataDir: t.TempDir(), ChecksumETags: true})
	svc := service(t, srv)
	ctx := t.Context()
	data := randomBytes(s3.MinPartSize+4321, 21)
	chunks := partsOf(data, s3.MinPartSize)
	etags := map[string][]string{}
	for _, key := range []string{"uploads/fastcrc/data", "blobs/plaincrc/data"} {
		id, err := svc.CreateMultipartUpload(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		var parts []s3.Part
		for i, chunk := range chunks {
			out, err := uploadPart(t, srv, key, id, int32(i+1), chunk, nil)
			if err != nil {
				t.Fatalf("%s part %d: %v", key, i+1, err)
			}
			fast := out.ChecksumCRC64NVME != nil
			if fast != strings.HasPrefix(key, s3.UploadPrefix) {
				t.Fatalf("%s part %d: fast checksum %v", key, i+1, fast)
			}
			if want := `"CRC64NVME-` + crc64NVME(chunk) + `"`; aws.ToString(out.ETag) != want {
				t.Fatalf("%s part %d: ETag %s, want %s", key, i+1, aws.ToString(out.ETag), want)
			}
			etags[key] = append(etags[key], aws.ToString(out.ETag))
			parts = append(parts, s3.Part{Number: int32(i + 1), ETag: aws.ToString(out.ETag)})
		}
		if err := svc.CompleteMultipartUpload(ctx, key, id, parts); err != nil {
			t.Fatalf("complete %s: %v", key, err)
		}
		if got := readObject(t, svc, key); !bytes.Equal(got, data) {
			t.Fatalf("%s: object differs from its parts", key)
		}
		info, err := svc.Stat(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		etags[key] = append(etags[key], info.ETag)
	}
	fast, plain := etags["uploads/fastcrc/data"], etags["blobs/plaincrc/data"]
	if strings.Join(fast, " ") != strings.Join(plain, " ") {
		t.Fatalf("ETags differ:\n staging %v\n plain   %v", fast, plain)
	}
}

// A part that names a checksum of its own is checked by versitygw as
// before: a wrong one is refused, a right one stored.
func TestStagingPartWithItsOwnChecksumIsVerified(t *testing.T) {
	srv := startServer(t, Options{DataDir: t.TempDir(), ChecksumETags: true})
	svc := service(t, srv)
	key := "uploads/ownsum/data"
	id, err := svc.CreateMultipartUpload(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	body := randomBytes(1000, 22)
	wrong := crc64NVME([]byte("other bytes"))
	if _, err := uploadPart(t, srv, key, id, 1, body, func(in *awss3.UploadPartInput) { in.ChecksumCRC64NVME = &wrong }); err == nil {
		t.Fatal("a part with a wrong CRC64NVME was stored")
	}
	right := crc64NVME(body)
	out, err := uploadPart(t, srv, key, id, 1, body, func(in *awss3.UploadPartInput) { in.ChecksumCRC64NVME = &right })
	if err != nil {
		t.Fatalf("a part with its right CRC64NVME: %v", err)
	}
	if aws.ToString(out.ChecksumCRC64NVME) != right {
		t.Fatalf("stored checksum %q, want %q", aws.ToString(out.ChecksumCRC64NVME), right)
	}
}

// An upload started with another checksum algorithm keeps versitygw's
// handling: its parts are summed with that algorithm, not refused for
// naming CRC64NVME.
func TestStagingUploadWithAnotherAlgorithm(t *testing.T) {
	srv := startServer(t, Options{DataDir: t.TempDir(), ChecksumETags: true})
	bucket, key := srv.creds.Bucket, "uploads/crc32/data"
	created, err := srv.backend.CreateMultipartUpload(t.Context(), s3response.CreateMultipartUploadInput{
		Bucket: &bucket, Key: &key,
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32, ChecksumType: types.ChecksumTypeFullObject,
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := uploadPart(t, srv, key, created.UploadId, 1, randomBytes(1000, 23), nil)
	if err != nil {
		t.Fatalf("part of a CRC32 upload: %v", err)
	}
	if out.ChecksumCRC64NVME != nil {
		t.Fatal("a CRC32 upload's part took the CRC64NVME path")
	}
}
