//go:build e2e

package e2e

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	atcrs3 "atcr.io/pkg/s3"
)

// A GET presigned against the hold's embedded S3 endpoint, with scheme and
// host then swapped to the pull zone, is served through the zone (Caddy as a
// CDN that forwards the origin's Host) with the exact bytes. The same URL
// through a zone that forwards its own Host fails SigV4: that is why the hold
// signs first and swaps second, and it shows this test can fail.
func TestPresignedGetThroughPullZone(t *testing.T) {
	ctx := testContext(t)
	creds := holdS3Credentials(t)
	client := s3.New(s3.Options{
		Region:       creds.Region,
		BaseEndpoint: aws.String(env(t, "ATCR_S3_ENDPOINT")),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, ""),
	})
	if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(creds.Bucket)}); err != nil {
		t.Fatalf("the hold's bucket %q on %s: %v", creds.Bucket, env(t, "ATCR_S3_ENDPOINT"), err)
	}

	body := make([]byte, 300<<10)
	if _, err := rand.Read(body); err != nil {
		t.Fatal(err)
	}
	key := fmt.Sprintf("e2e/pull-zone/%d", time.Now().UnixNano())
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(creds.Bucket), Key: aws.String(key), Body: bytes.NewReader(body),
	}); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	t.Cleanup(func() {
		if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(creds.Bucket), Key: aws.String(key)}); err != nil {
			t.Errorf("delete %s: %v", key, err)
		}
	})

	presigned, err := s3.NewPresignClient(client).PresignGetObject(ctx,
		&s3.GetObjectInput{Bucket: aws.String(creds.Bucket), Key: aws.String(key)},
		s3.WithPresignExpires(5*time.Minute))
	if err != nil {
		t.Fatalf("presign GET %s: %v", key, err)
	}

	t.Run("origin", func(t *testing.T) {
		status, got := fetch(t, presigned.URL)
		if status != http.StatusOK || !bytes.Equal(got, body) {
			t.Fatalf("GET at the origin: status %d, %d bytes (want 200, %d bytes)", status, len(got), len(body))
		}
	})
	t.Run("pull zone", func(t *testing.T) {
		status, got := fetch(t, swapHost(t, presigned.URL, env(t, "ATCR_PULL_ZONE_URL")))
		if status != http.StatusOK {
			t.Fatalf("GET through %s: status %d: %s", env(t, "ATCR_PULL_ZONE_URL"), status, got)
		}
		if !bytes.Equal(got, body) {
			t.Fatalf("GET through the pull zone returned %d bytes that differ from the %d put", len(got), len(body))
		}
	})
	t.Run("zone forwarding its own host", func(t *testing.T) {
		status, got := fetch(t, swapHost(t, presigned.URL, env(t, "ATCR_PULL_ZONE_BAD_URL")))
		if status != http.StatusForbidden {
			t.Fatalf("GET through %s: status %d, want 403", env(t, "ATCR_PULL_ZONE_BAD_URL"), status)
		}
		if !strings.Contains(string(got), "SignatureDoesNotMatch") {
			t.Errorf("403 body does not name SignatureDoesNotMatch: %s", got)
		}
	})
}

// holdS3Credentials reads the embedded S3 server's credentials file, which the
// hold writes somewhere under its data directory.
func holdS3Credentials(t *testing.T) atcrs3.CredentialsFile {
	t.Helper()
	dataDir := env(t, "ATCR_HOLD_DATA_DIR")
	var found []string
	err := filepath.WalkDir(dataDir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == "s3-credentials.json" {
			found = append(found, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("search %s for s3-credentials.json: %v", dataDir, err)
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one s3-credentials.json under %s, found %v", dataDir, found)
	}
	creds, err := atcrs3.ReadCredentialsFile(found[0])
	if err != nil {
		t.Fatal(err)
	}
	if creds.Bucket == "" || creds.Region == "" {
		t.Fatalf("%s names no bucket or region: %+v", found[0], creds)
	}
	return creds
}

// swapHost replaces scheme and host of a presigned URL, as the hold does for a
// pull zone; path and query (the signature) stay as signed.
func swapHost(t *testing.T, presigned, zone string) string {
	t.Helper()
	u, err := url.Parse(presigned)
	if err != nil {
		t.Fatalf("parse presigned URL: %v", err)
	}
	z, err := url.Parse(zone)
	if err != nil || z.Host == "" {
		t.Fatalf("parse pull zone URL %q: %v", zone, err)
	}
	u.Scheme, u.Host = z.Scheme, z.Host
	return u.String()
}

func fetch(t *testing.T, rawURL string) (int, []byte) {
	t.Helper()
	ctx := testContext(t)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		t.Fatalf("read %s: %v", rawURL, err)
	}
	return resp.StatusCode, got
}
