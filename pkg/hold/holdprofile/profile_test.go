package holdprofile

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atdata"

	"atcr.io/pkg/atproto/schema"
	"atcr.io/pkg/hold/pds"
	"atcr.io/pkg/s3"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type env struct {
	pds *pds.PDS
	svc *s3.S3Service
	dir string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	svc, err := s3.New(ctx, gateway.FreshBucket("holdprofile"))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := pds.Open(ctx, pds.Options{DataDir: t.TempDir(), PublicURL: "https://hold.example.com",
		Logger: quiet(), Validate: schema.ValidateRecord, Blobs: svc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return &env{pds: p, svc: svc, dir: t.TempDir()}
}

// writePNG writes a w×h PNG of one colour and returns its path.
func (e *env) writePNG(t *testing.T, name string, w, h int, c color.Color) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(e.dir, name)
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// avatarKeys lists the PDS blob objects in S3 (not the staging area).
func (e *env) avatarKeys(t *testing.T) []string {
	t.Helper()
	var keys []string
	err := e.svc.ListPrefix(context.Background(), pds.BlobKeyPrefix, func(o s3.ObjectInfo) error {
		key := o.Key
		if !strings.HasPrefix(key, pds.BlobKeyPrefix+"staging/") {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestProfileWrittenOnceAndRewrittenOnChange(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	red := e.writePNG(t, "red.png", 8, 8, color.RGBA{R: 255, A: 255})
	s := Settings{DisplayName: "Hold One", Description: "Blobs for the crew.", AvatarPath: red}

	wrote, err := Sync(ctx, e.pds, s, quiet())
	if err != nil || !wrote {
		t.Fatalf("first Sync = %v, %v; want a write", wrote, err)
	}
	rec, _, err := e.pds.GetRecord(ctx, Collection, RecordKey)
	if err != nil {
		t.Fatal(err)
	}
	if rec["displayName"] != "Hold One" || rec["description"] != "Blobs for the crew." {
		t.Errorf("record = %v", rec)
	}
	blob, ok := rec["avatar"].(atdata.Blob)
	if !ok || blob.MimeType != "image/png" || blob.Size == 0 {
		t.Fatalf("avatar = %#v, want a PNG blob", rec["avatar"])
	}
	// The avatar went to S3 through the S3 service, and reads back.
	keys := e.avatarKeys(t)
	if len(keys) != 1 || !strings.Contains(keys[0], blob.Ref.String()) {
		t.Fatalf("S3 blob keys = %v, want the avatar %s", keys, blob.Ref)
	}
	rc, info, err := e.pds.OpenBlob(ctx, blob.Ref.String())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	want, _ := os.ReadFile(red)
	if !bytes.Equal(got, want) || info.MimeType != "image/png" {
		t.Errorf("avatar read back: %d bytes %s, want the file's %d", len(got), info.MimeType, len(want))
	}

	// The same configuration again: no commit, no upload.
	_, rev := e.pds.Head()
	if wrote, err := Sync(ctx, e.pds, s, quiet()); err != nil || wrote {
		t.Fatalf("unchanged Sync = %v, %v; want no write", wrote, err)
	}
	if _, rev2 := e.pds.Head(); rev2 != rev {
		t.Errorf("an unchanged profile made a commit (rev %s → %s)", rev, rev2)
	}

	// A new avatar file: rewritten, new blob.
	s.AvatarPath = e.writePNG(t, "blue.png", 8, 8, color.RGBA{B: 255, A: 255})
	if wrote, err := Sync(ctx, e.pds, s, quiet()); err != nil || !wrote {
		t.Fatalf("Sync with a new avatar = %v, %v; want a write", wrote, err)
	}
	rec, _, _ = e.pds.GetRecord(ctx, Collection, RecordKey)
	if b := rec["avatar"].(atdata.Blob); b.Ref == blob.Ref {
		t.Error("the avatar reference did not change with the file")
	}
	// A new description only: rewritten.
	s.Description = "Now with more blobs."
	if wrote, err := Sync(ctx, e.pds, s, quiet()); err != nil || !wrote {
		t.Fatalf("Sync with a new description = %v, %v; want a write", wrote, err)
	}
}

func TestProfileNothingConfigured(t *testing.T) {
	e := newEnv(t)
	if wrote, err := Sync(context.Background(), e.pds, Settings{}, quiet()); err != nil || wrote {
		t.Fatalf("Sync(zero) = %v, %v", wrote, err)
	}
	if _, _, err := e.pds.GetRecord(context.Background(), Collection, RecordKey); !errors.Is(err, pds.ErrRecordNotFound) {
		t.Errorf("profile record exists without configuration: %v", err)
	}
}

func TestProfileAvatarRefused(t *testing.T) {
	e := newEnv(t)
	text := filepath.Join(e.dir, "avatar.png")
	if err := os.WriteFile(text, []byte("not an image at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(e.dir, "big.png")
	var buf bytes.Buffer
	buf.Write([]byte("\x89PNG\r\n\x1a\n"))
	buf.Write(make([]byte, MaxAvatarBytes))
	if err := os.WriteFile(big, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]error{text: ErrAvatarType, big: ErrAvatarTooLarge} {
		_, err := Sync(context.Background(), e.pds, Settings{DisplayName: "x", AvatarPath: path}, quiet())
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", filepath.Base(path), err, want)
		}
	}
	if _, err := Sync(context.Background(), e.pds, Settings{AvatarPath: filepath.Join(e.dir, "missing.png")}, quiet()); err == nil {
		t.Error("a missing avatar file was accepted")
	}
	if _, _, err := e.pds.GetRecord(context.Background(), Collection, RecordKey); !errors.Is(err, pds.ErrRecordNotFound) {
		t.Errorf("a refused avatar still wrote a profile: %v", err)
	}
}
