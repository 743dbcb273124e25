package s3test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"atcr.io/pkg/s3"
)

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func testPresignPutGet(t *testing.T, svc *s3.S3Service) {
	ctx := t.Context()
	key := "uploads/presigned/data"
	data := Pattern(30, 70_000)

	putURL, err := svc.PresignPut(ctx, key, 0)
	if err != nil {
		t.Fatalf("PresignPut: %v", err)
	}
	if status, _, body := do(t, http.MethodPut, putURL, bytes.NewReader(data), int64(len(data))); status != http.StatusOK {
		t.Fatalf("PUT presigned: status %d: %s", status, body)
	}
	if info, err := svc.Stat(ctx, key); err != nil || info.Size != int64(len(data)) {
		t.Fatalf("Stat after presigned PUT = %+v, %v", info, err)
	}

	getURL, err := svc.PresignGet(ctx, key, time.Minute)
	if err != nil {
		t.Fatalf("PresignGet: %v", err)
	}
	status, _, body := do(t, http.MethodGet, getURL, nil, 0)
	if status != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("GET presigned: status %d, %d bytes (want 200, %d bytes)", status, len(body), len(data))
	}

	missing, err := svc.PresignGet(ctx, "uploads/absent/data", 0)
	if err != nil {
		t.Fatal(err)
	}
	if status, _, _ := do(t, http.MethodGet, missing, nil, 0); status != http.StatusNotFound {
		t.Errorf("GET presigned URL of a missing object: status %d, want 404", status)
	}
	if _, err := svc.PresignGet(ctx, key, s3.MaxPresignTTL+time.Second); err == nil {
		t.Error("PresignGet beyond SigV4's 7-day limit succeeded")
	}
}

// testPresignExpired signs with a 1 s lifetime, waits it out and expects the
// server to refuse the URL (403) where it accepted it a moment before.
func testPresignExpired(t *testing.T, svc *s3.S3Service) {
	ctx := t.Context()
	key := "uploads/expiring/data"
	if err := svc.PutBytes(ctx, key, []byte("short-lived")); err != nil {
		t.Fatal(err)
	}
	url, err := svc.PresignGet(ctx, key, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := svc.PresignGet(ctx, key, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// X-Amz-Date has one-second resolution: 2.5 s is safely past 1 s.
	time.Sleep(2500 * time.Millisecond)
	if status, _, body := do(t, http.MethodGet, url, nil, 0); status != http.StatusForbidden {
		t.Errorf("expired presigned GET: status %d (%s), want 403", status, body)
	}
	if status, _, _ := do(t, http.MethodGet, fresh, nil, 0); status != http.StatusOK {
		t.Errorf("control: unexpired presigned GET: status %d, want 200", status)
	}
}
