package embedded

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"atcr.io/pkg/s3"
)

// The tests here run one after another: versitygw allows one gateway per
// process, which TestSecondStartRefused checks.

func startServer(t *testing.T, opts Options) *Server {
	t.Helper()
	srv, err := Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := srv.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return srv
}

func service(t *testing.T, srv *Server) *s3.S3Service {
	t.Helper()
	svc, err := s3.New(t.Context(), srv.Params())
	if err != nil {
		t.Fatalf("s3.New: %v", err)
	}
	return svc
}

func roundTrip(t *testing.T, svc *s3.S3Service, key string, data []byte) {
	t.Helper()
	ctx := t.Context()
	if err := svc.PutBytes(ctx, key, data); err != nil {
		t.Fatalf("PutBytes: %v", err)
	}
	rc, _, err := svc.Open(ctx, key)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %q, %v; want %q", got, err, data)
	}
}

func TestStartServesAndPersistsCredentials(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, Options{DataDir: dir, Bucket: "persist-test"})

	if !strings.HasPrefix(srv.Endpoint(), "http://127.0.0.1:") {
		t.Errorf("Endpoint = %q, want http://127.0.0.1:PORT", srv.Endpoint())
	}
	p := srv.Params()
	if !p.PathStyle || p.Bucket != "persist-test" || p.Region != DefaultRegion || p.Endpoint != srv.Endpoint() {
		t.Errorf("Params = %+v", p)
	}
	credPath := filepath.Join(dir, CredentialsFileName)
	fi, err := os.Stat(credPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials file mode %o, want 600", fi.Mode().Perm())
	}
	stored, err := s3.ReadCredentialsFile(credPath)
	if err != nil {
		t.Fatal(err)
	}
	if stored.AccessKeyID != p.AccessKey || stored.SecretAccessKey != p.SecretKey || stored.Endpoint != srv.Endpoint() {
		t.Errorf("stored credentials %+v do not match Params %+v", stored, p)
	}
	if len(p.SecretKey) < 40 || !strings.HasPrefix(p.AccessKey, "ATCR") {
		t.Errorf("generated keys look weak: access %q, secret length %d", p.AccessKey, len(p.SecretKey))
	}

	roundTrip(t, service(t, srv), "blobs/probe/data", []byte("kept across restarts"))
	if _, err := os.Stat(filepath.Join(dir, "s3", "persist-test", "blobs", "probe", "data")); err != nil {
		t.Errorf("object is not a file under DataDir/s3/<bucket>/: %v", err)
	}

	// Restart on the same directory: same keys, same data.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	srv2 := startServer(t, Options{DataDir: dir, Bucket: "persist-test"})
	if srv2.Params().AccessKey != p.AccessKey || srv2.Params().SecretKey != p.SecretKey {
		t.Errorf("restart generated new keys")
	}
	info, err := service(t, srv2).Stat(t.Context(), "blobs/probe/data")
	if err != nil || info.Size != int64(len("kept across restarts")) {
		t.Errorf("after restart Stat = %+v, %v", info, err)
	}
}

func TestWrongSecretIsRefused(t *testing.T) {
	srv := startServer(t, Options{DataDir: t.TempDir()})
	p := srv.Params()
	p.SecretKey = "not-the-secret-" + p.SecretKey
	svc, err := s3.New(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.PutBytes(t.Context(), "k", []byte("x")); err == nil {
		t.Fatal("PutBytes with a wrong secret succeeded; the server does not check signatures")
	}
}

func TestSecondStartRefused(t *testing.T) {
	startServer(t, Options{DataDir: t.TempDir()})
	_, err := Start(t.Context(), Options{DataDir: t.TempDir()})
	if !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("second Start: err = %v, want ErrAlreadyRunning", err)
	}
}

func TestFixedPortAndWorkingDirectory(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	before, _ := os.Getwd()
	dir := t.TempDir()

	srv, err := Start(t.Context(), Options{DataDir: dir, Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	if srv.Endpoint() != "http://"+addr {
		t.Errorf("Endpoint = %q, want http://%s", srv.Endpoint(), addr)
	}
	during, _ := os.Getwd()
	if want, _ := filepath.EvalSymlinks(filepath.Join(dir, "s3")); during != want && during != filepath.Join(dir, "s3") {
		t.Errorf("working directory while running = %q, want %q (posix backend chdir)", during, want)
	}
	if err := srv.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Getwd(); after != before {
		t.Errorf("working directory after Stop = %q, want %q", after, before)
	}
}

func TestSideCarFallback(t *testing.T) {
	forceSideCar = true
	t.Cleanup(func() { forceSideCar = false })
	dir := t.TempDir()
	srv := startServer(t, Options{DataDir: dir})
	roundTrip(t, service(t, srv), "uploads/abc/data", []byte("metadata in a sidecar"))
	entries, err := os.ReadDir(filepath.Join(dir, "sidecar"))
	if err != nil || len(entries) == 0 {
		t.Fatalf("sidecar dir has %d entries (err %v); metadata did not go there", len(entries), err)
	}
}

// With ChecksumETags, ETags come from CRC64NVME, not MD5, and a multipart
// upload of presigned-size parts still completes byte for byte.
func TestChecksumETags(t *testing.T) {
	srv := startServer(t, Options{DataDir: t.TempDir(), ChecksumETags: true})
	svc := service(t, srv)
	ctx := t.Context()
	data := bytes.Repeat([]byte("0123456789abcdef"), (s3.MinPartSize+100)/16)
	key := "uploads/crc/data"
	id, err := svc.CreateMultipartUpload(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	var parts []s3.Part
	for i, chunk := range [][]byte{data[:s3.MinPartSize], data[s3.MinPartSize:]} {
		p, err := svc.UploadPart(ctx, key, id, int32(i+1), bytes.NewReader(chunk))
		if err != nil || !strings.Contains(p.ETag, "CRC64NVME") {
			t.Fatalf("part %d: ETag %q, %v", i+1, p.ETag, err)
		}
		parts = append(parts, p)
	}
	if err := svc.CompleteMultipartUpload(ctx, key, id, parts); err != nil {
		t.Fatal(err)
	}
	info, err := svc.Stat(ctx, key)
	if err != nil || !strings.Contains(info.ETag, "CRC64NVME") || info.Size != int64(len(data)) {
		t.Fatalf("Stat = %+v, %v", info, err)
	}
	roundTrip(t, svc, "blobs/crc/data", data[:100])
}

func TestCorruptCredentialsFileIsAnError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, CredentialsFileName), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Start(t.Context(), Options{DataDir: dir}); err == nil || !strings.Contains(err.Error(), "parse s3 credentials") {
		t.Fatalf("Start with a corrupt credentials file: err = %v", err)
	}
	// The failed start must release the one-per-process guard.
	startServer(t, Options{DataDir: t.TempDir()})
}

func TestStartValidatesOptions(t *testing.T) {
	if _, err := Start(t.Context(), Options{}); err == nil {
		t.Error("Start without DataDir succeeded")
	}
	if _, err := Start(t.Context(), Options{DataDir: t.TempDir(), Addr: "no-port"}); err == nil {
		t.Error("Start with a bad address succeeded")
	}
	if _, err := Start(t.Context(), Options{DataDir: t.TempDir(), Bucket: "Bad_Bucket"}); err == nil {
		t.Error("Start with an invalid bucket name succeeded")
	}
}

func TestResolveAddr(t *testing.T) {
	for in, wantPicked := range map[string]bool{"127.0.0.1:0": true, ":0": true, "127.0.0.1:7070": false} {
		got, picked, err := resolveAddr(in)
		if err != nil || picked != wantPicked {
			t.Errorf("resolveAddr(%q) = %q, %v, %v", in, got, picked, err)
			continue
		}
		host, port, _ := net.SplitHostPort(got)
		inHost, _, _ := net.SplitHostPort(in)
		if host != inHost || port == "0" {
			t.Errorf("resolveAddr(%q) = %q: host must be kept and the port concrete", in, got)
		}
	}
	if got := endpointURL("[::]:9000"); got != "http://127.0.0.1:9000" {
		t.Errorf("endpointURL of a wildcard address = %q", got)
	}
	if got := endpointURL(":9000"); got != "http://127.0.0.1:9000" {
		t.Errorf("endpointURL(:9000) = %q", got)
	}
}

// Move renames the object's file: the bytes and the metadata (ETag) arrive
// at the destination, the source and its emptied directory are gone, in
// both metadata modes; keys that would leave the bucket are refused. Open
// reads what a GET would send.
func TestMoveRenames(t *testing.T) {
	for _, sidecar := range []bool{false, true} {
		t.Run(map[bool]string{false: "xattr", true: "sidecar"}[sidecar], func(t *testing.T) {
			forceSideCar = sidecar
			t.Cleanup(func() { forceSideCar = false })
			dir := t.TempDir()
			srv := startServer(t, Options{DataDir: dir, ChecksumETags: true})
			svc := service(t, srv)
			ctx := t.Context()
			data := []byte("staged bytes, verified")
			src, dst := "uploads/0123abcd/data", "blobs/sha256/ab/abcdef/data"
			if err := svc.PutBytes(ctx, src, data); err != nil {
				t.Fatal(err)
			}
			before, err := svc.Stat(ctx, src)
			if err != nil {
				t.Fatal(err)
			}
			if err := srv.Move(ctx, src, dst); err != nil {
				t.Fatalf("Move: %v", err)
			}
			after, err := svc.Stat(ctx, dst)
			if err != nil || after.ETag != before.ETag || after.Size != int64(len(data)) {
				t.Fatalf("destination %+v, %v; want the source's %+v", after, err, before)
			}
			rc, _, err := svc.Open(ctx, dst)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if !bytes.Equal(got, data) {
				t.Fatalf("moved bytes %q", got)
			}
			if _, err := svc.Stat(ctx, src); !errors.Is(err, s3.ErrNotFound) {
				t.Fatalf("source after Move: %v", err)
			}
			direct, info, err := srv.Open(ctx, dst)
			if err != nil {
				t.Fatal(err)
			}
			got, _ = io.ReadAll(direct)
			direct.Close()
			if !bytes.Equal(got, data) || info.Size != int64(len(data)) {
				t.Fatalf("Open read %q (size %d)", got, info.Size)
			}
			if _, _, err := srv.Open(ctx, src); !errors.Is(err, s3.ErrNotFound) {
				t.Fatalf("Open of the moved source: %v", err)
			}
			if _, err := os.Stat(filepath.Join(dir, "s3", DefaultBucket, "uploads", "0123abcd")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("emptied source directory left behind: %v", err)
			}
			if err := srv.Move(ctx, src, dst); !errors.Is(err, s3.ErrNotFound) {
				t.Fatalf("Move of a missing object: %v", err)
			}
			for _, bad := range []string{"../x", "a/../../x", "/abs", "a//b", ""} {
				if err := srv.Move(ctx, dst, bad); !errors.Is(err, s3.ErrInvalidKey) {
					t.Fatalf("Move to %q: %v", bad, err)
				}
			}
		})
	}
}
