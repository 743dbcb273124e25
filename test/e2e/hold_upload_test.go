//go:build e2e

package e2e

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

// Alice (the hold's owner) pushes a 12 MiB blob in three parts the way the
// AppView does: service tokens minted by her PDS with getServiceAuth (aud =
// the hold's DID, lxm = each method), initiateUpload, a presigned URL per
// part, the bytes PUT straight to S3, completeUpload. The blob then sits at
// its content-addressed key, getBlob HEAD reports its size, and a GET follows
// the hold's 307 through the pull zone to the exact bytes.
func TestHoldMultipartUpload(t *testing.T) {
	hold := holdPublic(t)
	alice := holdAlice(t)

	parts := [][]byte{holdRandom(t, 5<<20), holdRandom(t, 5<<20), holdRandom(t, 2<<20)}
	hasher := oci.SHA256.New()
	var size int64
	for _, p := range parts {
		hasher.Write(p)
		size += int64(len(p))
	}
	want := oci.FromHash(oci.SHA256, hasher)

	up := hold.initiate(t, alice, want.String())
	// The hold signs for its embedded S3 on 127.0.0.1 and hands out the
	// public endpoint (storage.public_endpoint) clients reach over TLS.
	s3Public, err := url.Parse(env(t, "ATCR_S3_PUBLIC_ENDPOINT"))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range parts {
		partURL := up.putPart(t, int64(i+1), p)
		// Presigned S3 URLs: parts never pass through the hold.
		if u, err := url.Parse(partURL); err != nil || u.Scheme != "https" || u.Host != s3Public.Host || u.Query().Get("X-Amz-Signature") == "" {
			t.Errorf("part %d URL %s://%s%s is not a presigned S3 URL at %s", i+1, u.Scheme, u.Host, u.Path, s3Public)
		}
	}
	up.completeOK(t, want, size)

	// The object is at the content-addressed key, with the blob's size.
	bucket, client := holdPublicS3(t)
	head, err := client.HeadObject(testContext(t), &awss3.HeadObjectInput{Bucket: bucket, Key: aws.String(s3.BlobKey(want))})
	if err != nil {
		t.Fatalf("HEAD %s in the hold's bucket: %v", s3.BlobKey(want), err)
	}
	if aws.ToInt64(head.ContentLength) != size {
		t.Errorf("stored object is %d bytes, want %d", aws.ToInt64(head.ContentLength), size)
	}
	if _, err := client.HeadObject(testContext(t), &awss3.HeadObjectInput{
		Bucket: bucket, Key: aws.String(holdUploadKey(t, up.ID)),
	}); !holdIsS3NotFound(err) {
		t.Errorf("staging object of upload %s after completion: %v, want not found", up.ID, err)
	}

	r := hold.headBlob(t, nil, want)
	holdRequireStatus(t, "getBlob HEAD", r, http.StatusOK, "")
	if got := r.Header.Get("Content-Length"); got != strconv.FormatInt(size, 10) {
		t.Errorf("getBlob HEAD Content-Length = %q, want %d", got, size)
	}
	if got := r.Header.Get("Docker-Content-Digest"); got != want.String() {
		t.Errorf("getBlob HEAD Docker-Content-Digest = %q, want %s", got, want)
	}

	first, final, got, gotSize := hold.fetchBlob(t, nil, want)
	holdRequireStatus(t, "getBlob GET", first, http.StatusTemporaryRedirect, "")
	zone, err := url.Parse(env(t, "ATCR_PULL_ZONE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	if final.Scheme != zone.Scheme || final.Host != zone.Host {
		t.Errorf("getBlob redirected to %s://%s, want the pull zone %s", final.Scheme, final.Host, zone)
	}
	if got != want || gotSize != size {
		t.Fatalf("GET through %s returned %d bytes with digest %s, want %d bytes with %s", final.Host, gotSize, got, size, want)
	}
}

// A completion that names the wrong digest is refused with InvalidDigest, and
// nothing is stored under either digest: not the claimed one, not the one the
// bytes really have. The session is gone too. Tokens here use the service
// audience did:web:hold.test#atcr_hold, which the hold accepts as its own.
func TestHoldUploadWrongDigest(t *testing.T) {
	hold := holdPublic(t)
	hold = hold.withAud(hold.DID + "#atcr_hold")
	alice := holdAlice(t)

	data := holdRandom(t, 1<<20)
	real := oci.FromBytes(oci.SHA256, data)
	claimed := oci.FromBytes(oci.SHA256, holdRandom(t, 64))

	up := hold.initiate(t, alice, "")
	up.putPart(t, 1, data)
	r := up.complete(t, claimed.String())
	holdRequireStatus(t, "completeUpload with a wrong digest", r, http.StatusBadRequest, atcr.ErrorInvalidDigest)

	for name, d := range map[string]oci.Digest{"claimed": claimed, "real": real} {
		r := hold.headBlob(t, nil, d)
		holdRequireStatus(t, "getBlob HEAD of the "+name+" digest "+d.String(), r, http.StatusNotFound, "")
	}
	bucket, client := holdPublicS3(t)
	for _, key := range []string{s3.BlobKey(claimed), s3.BlobKey(real), holdUploadKey(t, up.ID)} {
		if _, err := client.HeadObject(testContext(t), &awss3.HeadObjectInput{Bucket: bucket, Key: aws.String(key)}); !holdIsS3NotFound(err) {
			t.Errorf("HEAD %s after the refused completion: %v, want not found", key, err)
		}
	}
	// The refused session cannot be completed after all, with any digest.
	r = up.complete(t, real.String())
	holdRequireStatus(t, "completeUpload again after the refusal", r, http.StatusBadRequest, atcr.ErrorInvalidUploadId)
}

// holdPublicS3 is an S3 client on the public hold's embedded server, with the
// credentials the hold wrote (holdS3Credentials, pullzone_test.go).
func holdPublicS3(t *testing.T) (*string, *awss3.Client) {
	t.Helper()
	creds := holdS3Credentials(t)
	return aws.String(creds.Bucket), awss3.New(awss3.Options{
		Region:       creds.Region,
		BaseEndpoint: aws.String(env(t, "ATCR_S3_ENDPOINT")),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, ""),
	})
}

func holdUploadKey(t *testing.T, uploadID string) string {
	t.Helper()
	key, err := s3.UploadKey(uploadID)
	if err != nil {
		t.Fatalf("uploadId %q: %v", uploadID, err)
	}
	return key
}

func holdIsS3NotFound(err error) bool {
	var nf *types.NotFound
	return errors.As(err, &nf)
}
