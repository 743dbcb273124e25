package storage

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/access"
	"atcr.io/pkg/appview/holdclient"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/oci"
)

const (
	// statTTL: a blob's size, once a hold confirmed it, is reused this long
	// (sizes never change; only garbage collection removes blobs).
	statTTL = 5 * time.Minute
	// maxPresignCache caps how long a presigned URL is reused; it is never
	// reused for more than half its remaining validity.
	maxPresignCache = 5 * time.Minute
	// maxRepoHolds bounds the holds of a repository a lookup asks.
	maxRepoHolds = 4
)

// blobKey caches per hold, digest and caller: a private hold may answer one
// user and not another.
type blobKey struct {
	hold   syntax.DID
	digest oci.Digest
	caller syntax.DID
}

// digestBytes approximates the memory of an oci.Digest (algorithm and up
// to 128 hex characters).
const digestBytes = 160

// bytes is what the key takes in a cache.
func (k blobKey) bytes() int64 { return int64(len(k.hold)+len(k.caller)) + digestBytes }

// StatBlob implements registry.BlobService through the hold's getBlob HEAD.
// A blob unlinked from the repository is unknown whatever the hold says.
func (s *Store) StatBlob(ctx context.Context, repo registry.Repo, d oci.Digest, forPush bool) (int64, error) {
	if err := s.checkLinked(ctx, repo, d); err != nil {
		return 0, err
	}
	var size int64
	stat := s.statOn
	if forPush {
		// A push's HEAD must reach the hold (it refreshes the blob against
		// garbage collection), and a cached answer could hide a blob the
		// hold has since collected.
		stat = s.statFresh
	}
	err := s.eachHold(ctx, repo, forPush, func(h holdclient.Hold) error {
		n, err := stat(ctx, h, d)
		size = n
		return err
	})
	return size, err
}

// BlobURL implements registry.BlobService: the Location of the hold's
// getBlob 307, cached for less than its validity. A blob unlinked from the
// repository is unknown, cached URL or not.
func (s *Store) BlobURL(ctx context.Context, repo registry.Repo, d oci.Digest) (string, error) {
	if err := s.checkLinked(ctx, repo, d); err != nil {
		return "", err
	}
	var loc string
	err := s.eachHold(ctx, repo, false, func(h holdclient.Hold) error {
		key := blobKey{hold: h.DID, digest: d, caller: h.Caller}
		if u, ok := s.presigned.Get(key); ok {
			loc = u
			return nil
		}
		u, err := s.hold.BlobLocation(ctx, h, d)
		if err != nil {
			return err
		}
		s.presigned.SetFor(key, u, presignCacheTTL(u, s.now()))
		loc = u
		return nil
	})
	return loc, err
}

// eachHold calls fn for the holds that may have a repository's blob until
// one succeeds. For a push only the owner's push hold counts; otherwise the
// holds of the repository's manifests come first (pulls go where the image
// was pushed), then the push hold; a hold that recently let a lookup time
// out is asked last (holddown.go). A hold without the blob is skipped; if
// none has it, any other failure is returned before ErrBlobUnknown, so an
// unreachable hold is a 5xx rather than a false "unknown".
func (s *Store) eachHold(ctx context.Context, repo registry.Repo, forPush bool, fn func(holdclient.Hold) error) error {
	caller := callerDID(ctx)
	var tried, paused []syntax.DID
	var failure error
	// try asks did unless it was asked already; a paused hold is put off
	// until the others were asked (last set).
	try := func(did syntax.DID, last bool) bool {
		if slices.Contains(tried, did) {
			return false
		}
		if !last && s.holdPaused(did) {
			if !slices.Contains(paused, did) {
				paused = append(paused, did)
			}
			return false
		}
		tried = append(tried, did)
		err := s.onHold(ctx, did, caller, forPush, fn)
		switch {
		case err == nil:
			return true
		case !errors.Is(err, registry.ErrBlobUnknown) && failure == nil:
			failure = err
		}
		return false
	}
	if !forPush {
		idx, err := s.index(ctx, repo.Owner)
		if err != nil {
			return err
		}
		for i, did := range idx.holds(repo.Path()) {
			if i == maxRepoHolds {
				break
			}
			if try(did, false) {
				return nil
			}
		}
	}
	push, err := s.pushHold(ctx, repo.Owner)
	if err != nil {
		if failure == nil {
			failure = err
		}
	} else if try(push, false) {
		return nil
	}
	for _, did := range paused {
		if try(did, true) {
			return nil
		}
	}
	if failure != nil {
		return failure
	}
	return fmt.Errorf("no hold of %s has it: %w", repo.Name, registry.ErrBlobUnknown)
}

// privateHoldTTL: a hold that refused an anonymous read is asked with the
// caller's service token straight away for this long.
const privateHoldTTL = 10 * time.Minute

// onHold calls fn for one hold. A push asks as the caller (the owner): the
// hold counts the owner's HEAD of a blob as a reference that keeps garbage
// collection off it. A pull asks anonymously first and only sends the
// caller's service token to a hold that refuses anonymous reads, so a hold
// the image's owner chose does not learn who pulls from it unless it must
// (and the puller's PDS mints no token for public holds). How the hold
// answered is noted for eachHold's order (holddown.go).
func (s *Store) onHold(ctx context.Context, did, caller syntax.DID, forPush bool, fn func(holdclient.Hold) error) error {
	as := caller
	if !forPush {
		if _, private := s.privateHolds.Get(did); !private {
			as = ""
		}
	}
	h, err := s.hold.Hold(ctx, did, as)
	if err != nil {
		return err
	}
	err = fn(h)
	if as == "" && caller != "" && errors.Is(err, registry.ErrHoldRefused) {
		s.privateHolds.Set(did, true)
		h.Caller = caller
		err = fn(h)
	}
	s.noteHoldAnswer(ctx, did, err)
	return err
}

// callerDID is the authenticated user of the request, "" when anonymous:
// hold calls are made as this user.
func callerDID(ctx context.Context) syntax.DID {
	if g := access.GrantFrom(ctx); !g.Anonymous() {
		return g.Subject
	}
	return ""
}

// presignCacheTTL is how long a presigned URL may be reused: half of what
// remains of its SigV4 validity (X-Amz-Date + X-Amz-Expires), at most
// maxPresignCache; zero (not cached) when the URL does not say.
func presignCacheTTL(raw string, now time.Time) time.Duration {
	u, err := url.Parse(raw)
	if err != nil {
		return 0
	}
	q := u.Query()
	signed, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil {
		return 0
	}
	secs, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || secs <= 0 {
		return 0
	}
	remaining := signed.Add(time.Duration(secs) * time.Second).Sub(now)
	return min(remaining/2, maxPresignCache)
}
