package holdprofile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"

	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"atcr.io/pkg/hold/pds"
)

// Collection and key of the profile record.
const (
	Collection = syntax.NSID("app.bsky.actor.profile")
	RecordKey  = syntax.RecordKey("self")
)

// MaxAvatarBytes is app.bsky.actor.profile's limit on the avatar blob.
const MaxAvatarBytes = 1_000_000

// avatarTypes are the media types app.bsky.actor.profile accepts.
var avatarTypes = map[string]bool{"image/png": true, "image/jpeg": true}

// Sentinel errors, returned wrapped.
var (
	ErrAvatarTooLarge = errors.New("avatar larger than 1 MB")
	ErrAvatarType     = errors.New("avatar is not a PNG or JPEG image")
)

// Settings are the configured profile (registration.profile_*).
type Settings struct {
	DisplayName string
	Description string
	// AvatarPath is a PNG or JPEG file; "" for no avatar.
	AvatarPath string
}

// IsZero reports whether nothing is configured.
func (s Settings) IsZero() bool { return s == Settings{} }

// Repo is what Sync needs of the hold's PDS.
type Repo interface {
	GetRecord(ctx context.Context, coll syntax.NSID, rkey syntax.RecordKey) (map[string]any, string, error)
	PutRecord(ctx context.Context, coll syntax.NSID, rkey syntax.RecordKey, rec map[string]any) (syntax.ATURI, string, error)
	UploadBlob(ctx context.Context, mimeType string, r io.Reader, maxSize int64) (atdata.Blob, error)
}

var (
	rawCID  = cid.NewPrefixV1(cid.Raw, mh.SHA2_256)
	cborCID = cid.NewPrefixV1(cid.DagCBOR, mh.SHA2_256)
)

// Sync makes the stored profile record match the settings. It reports
// whether it wrote (false: nothing configured, or already up to date).
func Sync(ctx context.Context, repo Repo, s Settings, log *slog.Logger) (bool, error) {
	if s.IsZero() {
		return false, nil
	}
	var avatar []byte
	var avatarRef *atdata.Blob
	if s.AvatarPath != "" {
		data, blob, err := readAvatar(s.AvatarPath)
		if err != nil {
			return false, err
		}
		avatar, avatarRef = data, &blob
	}
	rec := record(s, avatarRef)
	want, err := recordCID(rec)
	if err != nil {
		return false, err
	}
	_, have, err := repo.GetRecord(ctx, Collection, RecordKey)
	switch {
	case err == nil && have == want.String():
		log.Debug("Hold profile unchanged", "cid", have)
		return false, nil
	case err != nil && !errors.Is(err, pds.ErrRecordNotFound):
		return false, fmt.Errorf("read the hold's profile: %w", err)
	}
	if avatarRef != nil {
		stored, err := repo.UploadBlob(ctx, avatarRef.MimeType, bytes.NewReader(avatar), MaxAvatarBytes)
		if err != nil {
			return false, fmt.Errorf("upload avatar %s: %w", s.AvatarPath, err)
		}
		if stored.Ref != avatarRef.Ref || stored.Size != avatarRef.Size {
			return false, fmt.Errorf("upload avatar %s: stored as %s (%d bytes), expected %s (%d bytes)",
				s.AvatarPath, stored.Ref, stored.Size, avatarRef.Ref, avatarRef.Size)
		}
	}
	uri, c, err := repo.PutRecord(ctx, Collection, RecordKey, rec)
	if err != nil {
		return false, fmt.Errorf("write the hold's profile: %w", err)
	}
	attrs := []any{"uri", uri, "cid", c, "display_name", s.DisplayName}
	if avatarRef != nil {
		attrs = append(attrs, "avatar", avatarRef.Ref.String(), "avatar_bytes", avatarRef.Size)
	}
	log.Info("Hold profile written", attrs...)
	return true, nil
}

// record is the profile the settings describe. Empty fields are left out,
// as the lexicon makes every field optional.
func record(s Settings, avatar *atdata.Blob) map[string]any {
	rec := map[string]any{"$type": Collection.String()}
	if s.DisplayName != "" {
		rec["displayName"] = s.DisplayName
	}
	if s.Description != "" {
		rec["description"] = s.Description
	}
	if avatar != nil {
		rec["avatar"] = *avatar
	}
	return rec
}

// recordCID is the CID the PDS will give the record: the DAG-CBOR of the
// same map, as pkg/hold/pds encodes it.
func recordCID(rec map[string]any) (cid.Cid, error) {
	raw, err := atdata.MarshalCBOR(rec)
	if err != nil {
		return cid.Undef, fmt.Errorf("encode the hold's profile: %w", err)
	}
	c, err := cborCID.Sum(raw)
	if err != nil {
		return cid.Undef, fmt.Errorf("profile cid: %w", err)
	}
	return c, nil
}

// readAvatar reads the avatar file, checks size and type and returns its
// bytes with the blob reference they will have.
func readAvatar(path string) ([]byte, atdata.Blob, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, atdata.Blob{}, fmt.Errorf("avatar: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxAvatarBytes+1))
	if err != nil {
		return nil, atdata.Blob{}, fmt.Errorf("avatar %s: %w", path, err)
	}
	if len(data) > MaxAvatarBytes {
		return nil, atdata.Blob{}, fmt.Errorf("%w: %s", ErrAvatarTooLarge, path)
	}
	mime := http.DetectContentType(data)
	if !avatarTypes[mime] {
		return nil, atdata.Blob{}, fmt.Errorf("%w: %s is %s", ErrAvatarType, path, mime)
	}
	c, err := rawCID.Sum(data)
	if err != nil {
		return nil, atdata.Blob{}, fmt.Errorf("avatar cid: %w", err)
	}
	return data, atdata.Blob{Ref: atdata.CIDLink(c), MimeType: mime, Size: int64(len(data))}, nil
}
