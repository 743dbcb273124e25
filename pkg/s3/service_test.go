package s3

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

func TestNewWithClientValidatesParams(t *testing.T) {
	mock := NewMockS3Client()
	bad := map[string]Params{
		"no bucket":          {},
		"short bucket":       {Bucket: "ab"},
		"uppercase bucket":   {Bucket: "Atcr"},
		"underscore bucket":  {Bucket: "at_cr"},
		"dash edge":          {Bucket: "-atcr"},
		"ttl too long":       {Bucket: "atcr", PresignTTL: 8 * 24 * time.Hour},
		"ttl below 1s":       {Bucket: "atcr", PresignTTL: time.Millisecond},
		"pull zone path":     {Bucket: "atcr", PullZoneURL: "https://cdn.example.com/prefix"},
		"pull zone query":    {Bucket: "atcr", PullZoneURL: "https://cdn.example.com/?a=b"},
		"pull zone scheme":   {Bucket: "atcr", PullZoneURL: "ftp://cdn.example.com"},
		"pull zone no host":  {Bucket: "atcr", PullZoneURL: "https://"},
		"pull zone userinfo": {Bucket: "atcr", PullZoneURL: "https://u:p@cdn.example.com"},
	}
	for name, p := range bad {
		if _, err := NewWithClient(mock, nil, p); err == nil {
			t.Errorf("%s: NewWithClient(%+v) succeeded", name, p)
		}
	}
	if _, err := NewWithClient(nil, nil, Params{Bucket: "atcr"}); err == nil {
		t.Error("NewWithClient(nil client) succeeded")
	}
	svc, err := NewWithClient(mock, nil, Params{Bucket: "atcr", PullZoneURL: "https://cdn.example.com/"})
	if err != nil {
		t.Fatal(err)
	}
	if svc.presignTTL != DefaultPresignTTL || svc.bucket != "atcr" || svc.pullZone.String() != "https://cdn.example.com" {
		t.Errorf("defaults: ttl %s bucket %s zone %s", svc.presignTTL, svc.bucket, svc.pullZone)
	}
}

func TestNewValidatesParams(t *testing.T) {
	ctx := t.Context()
	for name, p := range map[string]Params{
		"half credentials": {Bucket: "atcr", AccessKey: "AK"},
		"bad endpoint":     {Bucket: "atcr", Endpoint: "127.0.0.1:9000"},
		"bad bucket":       {Bucket: "x", Endpoint: "http://127.0.0.1:9000"},
	} {
		if _, err := New(ctx, p); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestPresignWithoutPresigner(t *testing.T) {
	svc, err := NewWithClient(NewMockS3Client("atcr"), nil, Params{Bucket: "atcr"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PresignGet(t.Context(), "k", 0); !errors.Is(err, ErrNoPresigner) {
		t.Errorf("PresignGet without presigner: %v, want ErrNoPresigner", err)
	}
	if svc.CanPresign() {
		t.Error("CanPresign without presigner")
	}
}

func TestApplyPullZone(t *testing.T) {
	signed := "http://127.0.0.1:7070/atcr/blobs/sha256/ab/x/data?X-Amz-Signature=abc&X-Amz-Date=20260101T000000Z"
	got, err := ApplyPullZone(signed, "https://cdn.example.com")
	want := "https://cdn.example.com/atcr/blobs/sha256/ab/x/data?X-Amz-Signature=abc&X-Amz-Date=20260101T000000Z"
	if err != nil || got != want {
		t.Errorf("ApplyPullZone = %q, %v; want %q", got, err, want)
	}
	if _, err := ApplyPullZone(signed, "cdn.example.com"); err == nil {
		t.Error("ApplyPullZone accepted a zone without scheme")
	}
}

func TestMapErr(t *testing.T) {
	for _, err := range []error{&types.NoSuchKey{}, &types.NotFound{}, &types.NoSuchUpload{}, &types.NoSuchBucket{}} {
		if !errors.Is(mapErr(err), ErrNotFound) {
			t.Errorf("mapErr(%T) does not wrap ErrNotFound", err)
		}
		var orig smithy.APIError
		if !errors.As(mapErr(err), &orig) {
			t.Errorf("mapErr(%T) lost the original error", err)
		}
	}
	for _, err := range []error{&smithy.GenericAPIError{Code: "AccessDenied"}, context.Canceled} {
		if errors.Is(mapErr(err), ErrNotFound) {
			t.Errorf("mapErr(%v) claims not found", err)
		}
	}
	if mapErr(nil) != nil {
		t.Error("mapErr(nil) != nil")
	}
}

// regionRecorder records the CreateBucket input it forwards to the mock.
type regionRecorder struct {
	*MockS3Client
	constraint types.BucketLocationConstraint
}

func (r *regionRecorder) CreateBucket(ctx context.Context, in *awss3.CreateBucketInput, o ...func(*awss3.Options)) (*awss3.CreateBucketOutput, error) {
	if in.CreateBucketConfiguration != nil {
		r.constraint = in.CreateBucketConfiguration.LocationConstraint
	}
	return r.MockS3Client.CreateBucket(ctx, in, o...)
}

func TestEnsureBucketCreatesWithRegion(t *testing.T) {
	ctx := t.Context()
	rec := &regionRecorder{MockS3Client: NewMockS3Client()}
	svc, err := NewWithClient(rec, nil, Params{Bucket: "atcr", Region: "eu-central-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.CheckBucket(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("CheckBucket before creation: %v, want ErrNotFound", err)
	}
	if err := svc.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	if rec.constraint != "eu-central-1" {
		t.Errorf("LocationConstraint = %q, want eu-central-1", rec.constraint)
	}
	if err := svc.CheckBucket(ctx); err != nil {
		t.Errorf("CheckBucket after EnsureBucket: %v", err)
	}
}

func TestCredentialsFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "creds.json")
	in := CredentialsFile{AccessKeyID: "AK", SecretAccessKey: "SK", Region: "r", Bucket: "atcr", Endpoint: "http://127.0.0.1:1"}
	if err := WriteCredentialsFile(path, in); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, err %v; want 0600", fi.Mode(), err)
	}
	out, err := ReadCredentialsFile(path)
	if err != nil || out != in {
		t.Fatalf("read back %+v, %v; want %+v", out, err, in)
	}
	if p := out.Params(); !p.PathStyle || p.AccessKey != "AK" || p.Endpoint != in.Endpoint {
		t.Errorf("Params() = %+v", p)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left behind: %d entries", len(entries))
	}
	for name, content := range map[string]string{
		"missing secret": `{"access_key_id":"AK"}`,
		"not json":       `nope`,
		"huge":           `{"access_key_id":"` + strings.Repeat("a", 70<<10) + `"}`,
	} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadCredentialsFile(path); err == nil {
			t.Errorf("%s: ReadCredentialsFile succeeded", name)
		}
	}
}
