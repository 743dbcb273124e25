package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/holdclient"
	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// PutManifest implements registry.ManifestService. Everything it
// references must exist first (blobs on the owner's push hold, index
// children as manifests of this repository); the manifest's bytes go to
// the PDS (uploadBlob) while the hold answers for the blobs. A new
// manifest and its tags are then written in one applyWrites (one commit),
// and the hold is told (io.atcr.hold.notifyManifest, which reads the
// record back from the PDS, so it cannot come first). When the hold
// refuses, the push is withdrawn: each tag goes back to what it was
// (unless someone moved it meanwhile), then the manifest record goes, and
// the push fails (manifestbatch.go). A manifest already recorded in this
// repository with the same hold is reused rather than recorded twice: the
// hold is told first and the tags written after, as before batching.
func (s *Store) PutManifest(ctx context.Context, repo registry.Repo, put registry.ManifestPut) error {
	holdDID, err := s.pushHold(ctx, repo.Owner)
	if err != nil {
		return err
	}
	h, err := s.hold.Hold(ctx, holdDID, repo.Owner.DID)
	if err != nil {
		return err
	}
	client, err := s.userClient(ctx, repo.Owner.DID)
	if err != nil {
		return err
	}
	idx, err := s.index(ctx, repo.Owner)
	if err != nil {
		return err
	}
	candidates := reuseCandidates(idx, repo, put, holdDID)
	// A manifest seen before skips the upload; any other has its bytes
	// uploaded while the hold is asked for the blobs.
	var upload *blobUpload
	if len(candidates) == 0 {
		upload = startBlobUpload(ctx, client, put)
	}
	if err := s.checkReferences(ctx, repo, h, put.Manifest); err != nil {
		upload.abandon()
		return err
	}
	rec, err := s.confirmReusable(ctx, repo, idx, candidates)
	if err != nil {
		upload.abandon()
		return err
	}
	if rec != nil {
		if err := s.putReused(ctx, client, h, repo, put, rec); !errors.Is(err, errReusedRecordDeleted) {
			return err
		}
		idx.removeManifest(rec.RKey) // recorded anew below
	}
	var blob atdata.Blob
	if upload != nil {
		blob, err = upload.wait()
	} else { // every candidate was gone from the PDS, or deleted while reused
		blob, err = uploadBlob(ctx, client, put.Body, put.Manifest.MediaType())
	}
	if err != nil {
		return fmt.Errorf("store manifest %s: %w", put.Digest, err)
	}
	return s.putNew(ctx, client, h, idx, repo, put, holdDID, blob)
}

// blobUpload is an uploadBlob running in its own goroutine.
type blobUpload struct {
	cancel context.CancelFunc
	done   chan struct{}
	blob   atdata.Blob
	err    error
}

// startBlobUpload uploads the manifest's bytes in the background. A blob
// no record ends up referencing is the PDS's to drop (the reference PDS
// deletes unreferenced uploads after a while).
func startBlobUpload(ctx context.Context, client *atclient.APIClient, put registry.ManifestPut) *blobUpload {
	ctx, cancel := context.WithCancel(ctx)
	u := &blobUpload{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(u.done)
		u.blob, u.err = uploadBlob(ctx, client, put.Body, put.Manifest.MediaType())
	}()
	return u
}

// wait returns the upload's result.
func (u *blobUpload) wait() (atdata.Blob, error) {
	<-u.done
	u.cancel()
	return u.blob, u.err
}

// abandon cancels the upload (the push failed) and waits for it to end.
func (u *blobUpload) abandon() {
	if u == nil {
		return
	}
	u.cancel()
	<-u.done
}

// errReusedRecordDeleted: the record a push reused was deleted while its
// tags were written; the push records the manifest anew.
var errReusedRecordDeleted = errors.New("reused manifest record deleted meanwhile")

// putReused finishes a push whose manifest record exists already: the
// hold is told again (it writes nothing it has), then the tags. A DELETE
// of the manifest racing the push may have listed the tags before these
// were written, so the record is read again after them: gone, the push
// is recorded anew (errReusedRecordDeleted), which re-points the tags;
// otherwise the DELETE, if any, lists the tags after deleting the record
// and takes them too (dropDanglingTags). Either way no tag is left
// pointing at a deleted record.
func (s *Store) putReused(ctx context.Context, client *atclient.APIClient, h holdclient.Hold, repo registry.Repo, put registry.ManifestPut, rec *pdsread.ManifestRecord) error {
	if err := s.notifyHold(ctx, h, repo, put, rec); err != nil {
		if errors.Is(err, registry.ErrManifestRecordGone) { // deleted since confirmReusable
			return fmt.Errorf("%s: %w: %w", rec.URI, errReusedRecordDeleted, err)
		}
		return s.notifyRefusal(ctx, repo, h, put, err)
	}
	wrote := false
	for _, tag := range put.Tags {
		written, err := s.writeTag(ctx, client, repo, tag, rec)
		if err != nil {
			return err
		}
		wrote = wrote || written
	}
	if wrote { // a tag unchanged was there before any DELETE listed the tags
		_, err := s.getRecord(ctx, repo.Owner, atcr.ManifestNSID, rec.RKey)
		if errors.Is(err, pdsread.ErrRecordNotFound) {
			s.log.InfoContext(ctx, "storage: the manifest record a push reused was deleted meanwhile; recording it anew", "repo", repo.Name, "manifest", rec.URI)
			return fmt.Errorf("%s: %w", rec.URI, errReusedRecordDeleted)
		}
		if err != nil {
			return err
		}
	}
	s.pushDone(repo, put)
	return nil
}

// pushDone records a successful push in the caches and the push counts.
func (s *Store) pushDone(repo registry.Repo, put registry.ManifestPut) {
	s.manifests.Add(manifestKey{did: repo.Owner.DID, digest: put.Digest}, cachedManifest{body: put.Body, mediaType: put.Manifest.MediaType()})
	s.pushed(repo.Owner.DID)
	if s.indexer != nil {
		s.indexer.CountPush(repo.Owner.DID.String(), repo.Path())
	}
}

// withdrawManifest deletes a manifest record this push created when the
// hold refused it, so no record claims an image whose layers nobody
// accounts for. It runs whatever the client does meanwhile; a failure is
// logged (the record stays, untagged).
func (s *Store) withdrawManifest(ctx context.Context, client *atclient.APIClient, repo registry.Repo, rec *pdsread.ManifestRecord) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.NotifyTimeout)
	defer cancel()
	if err := deleteRecord(ctx, client, repo.Owner.DID, atcr.ManifestNSID, rec.RKey); err != nil {
		s.log.ErrorContext(ctx, "storage: could not withdraw the manifest record of a refused push", "manifest", rec.URI, "err", err)
		return
	}
	s.unindexRecord(ctx, repo.Owner.DID, atcr.ManifestNSID, rec.RKey)
	if idx := s.loadedIndex(repo.Owner.DID); idx != nil {
		idx.removeManifest(rec.RKey)
	}
	s.indexChanged(ctx, repo.Owner.DID, indexChange{DropManifest: rec.RKey})
}

// reuseCandidates lists the index's records of the same digest, media
// type and hold in this repository (still to be confirmed on the PDS).
func reuseCandidates(idx *repoIndex, repo registry.Repo, put registry.ManifestPut, hold syntax.DID) []*pdsread.ManifestRecord {
	var out []*pdsread.ManifestRecord
	for _, rec := range idx.byDigest(repo.Path(), put.Digest) {
		if rec.Value.HoldDID == hold.String() && rec.Value.MediaType == put.Manifest.MediaType() {
			out = append(out, rec)
		}
	}
	return out
}

// confirmReusable returns the first candidate the PDS still has, or nil.
func (s *Store) confirmReusable(ctx context.Context, repo registry.Repo, idx *repoIndex, candidates []*pdsread.ManifestRecord) (*pdsread.ManifestRecord, error) {
	for _, rec := range candidates {
		_, err := s.getRecord(ctx, repo.Owner, atcr.ManifestNSID, rec.RKey)
		switch {
		case err == nil:
			return rec, nil
		case errors.Is(err, pdsread.ErrRecordNotFound):
			idx.removeManifest(rec.RKey) // deleted elsewhere
		default:
			return nil, err
		}
	}
	return nil, nil
}

// newManifestRecord builds the record of a new manifest whose bytes are
// blob, under a fresh record key, and returns the size of its JSON.
func (s *Store) newManifestRecord(repo registry.Repo, put registry.ManifestPut, hold syntax.DID, blob atdata.Blob) (*pdsread.ManifestRecord, map[string]any, int, error) {
	value := manifestRecord(repo.Path(), put.Digest, put.Manifest, hold, blob, s.now())
	m, size, err := fitManifestRecord(value)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%w: %w", registry.ErrManifestNotStorable, err)
	}
	rkey := s.tids.Next().String()
	rec := &pdsread.ManifestRecord{RKey: rkey, URI: pdsread.ManifestURI(repo.Owner.DID, rkey), Value: *value, Digest: put.Digest, Created: s.now().UTC()}
	return rec, m, size, nil
}

// manifestWritten records a manifest record we wrote in the index and the
// owner's cached listing.
func (s *Store) manifestWritten(ctx context.Context, did syntax.DID, rec *pdsread.ManifestRecord, cid string, m map[string]any) {
	s.indexRecord(ctx, did, atcr.ManifestNSID, rec.RKey, cid, m)
	s.manifestKnown(ctx, did, rec, m)
}

// manifestKnown puts a manifest record we wrote (and indexed) into the
// owner's cached listing and announces it to the other AppViews.
func (s *Store) manifestKnown(ctx context.Context, did syntax.DID, rec *pdsread.ManifestRecord, m map[string]any) {
	if idx := s.loadedIndex(did); idx != nil {
		idx.putManifest(rec)
		if b, err := json.Marshal(m); err == nil {
			idx.bytes.Add(int64(len(b)))
		}
	}
	s.indexChanged(ctx, did, indexChange{PutManifest: rec})
}

// writeTag points the tag's record at rec, keeping its first creation time;
// wrote is false when the record pointed there already (nothing written).
func (s *Store) writeTag(ctx context.Context, client *atclient.APIClient, repo registry.Repo, tag oci.Tag, rec *pdsread.ManifestRecord) (wrote bool, err error) {
	t := s.tagWrite(s.loadedIndex(repo.Owner.DID), repo, tag, rec)
	if t.old != nil && t.old.Value.Manifest == rec.URI && s.tagUnchanged(ctx, repo, t.rkey, rec.URI) {
		// Re-pushing a tag unchanged (CI does it all day) costs a read,
		// not a write against the PDS's write budget.
		version, _ := s.indexVersion(ctx, repo.Owner.DID)
		s.tagCache.Set(t.key, tagAnswer{digest: rec.Digest, version: version})
		return false, nil
	}
	written, err := writeRecord(ctx, client, repo.Owner.DID, atcr.TagNSID, t.rkey, t.record, false)
	if err != nil {
		return false, fmt.Errorf("tag %s: %w", tag, err)
	}
	s.tagWritten(ctx, repo, t, rec, written.CID)
	return true, nil
}

// tagUnchanged confirms on the PDS that a tag record already points at uri.
func (s *Store) tagUnchanged(ctx context.Context, repo registry.Repo, rkey, uri string) bool {
	view, err := s.getRecord(ctx, repo.Owner, atcr.TagNSID, rkey)
	if err != nil {
		return false
	}
	t, err := pdsread.DecodeTag(account(repo.Owner), *view)
	return err == nil && t.Value.Manifest == uri
}
