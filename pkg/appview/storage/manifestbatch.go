package storage

import (
	"context"
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

// A new manifest and its tags in one commit. Against separate
// createRecord and putRecord calls this saves a round trip and a commit
// of the PDS per push (about 19 ms on the local stack). The hold reads
// the manifest record from the PDS when it is notified, so it is told
// after the commit; until it answers, the tags point at a manifest it has
// not yet accepted, and when it refuses they are put back.

// tagWrite is one tag of a push: its record key, the value to write and
// the record it replaces (nil for a new tag, as far as the index knows).
type tagWrite struct {
	tag    oci.Tag
	key    tagKey
	rkey   string
	value  atcr.Tag
	record map[string]any
	old    *pdsread.TagRecord
}

// tagWrite prepares the tag's record pointing at rec, keeping the first
// creation time of the record it replaces. idx may be nil.
func (s *Store) tagWrite(idx *repoIndex, repo registry.Repo, tag oci.Tag, rec *pdsread.ManifestRecord) tagWrite {
	t := tagWrite{
		tag:  tag,
		key:  tagKey{did: repo.Owner.DID, repo: repo.Path(), tag: tag.String()},
		rkey: pdsread.TagRecordKey(repo.Path(), tag),
	}
	now := datetime(s.now())
	t.value = atcr.Tag{Repository: repo.Path(), Tag: tag.String(), Manifest: rec.URI, CreatedAt: now}
	if idx != nil {
		if old := idx.tag(t.rkey); old != nil && old.Value.CreatedAt != "" {
			t.old = old
			t.value.CreatedAt, t.value.UpdatedAt = old.Value.CreatedAt, now
		}
	}
	t.record, _ = toRecordMap(&t.value) // a generated record always encodes
	return t
}

// tagWritten records a tag record we wrote in the index, the owner's
// cached listing and the tag cache.
func (s *Store) tagWritten(ctx context.Context, repo registry.Repo, t tagWrite, rec *pdsread.ManifestRecord, cid string) {
	s.indexRecord(ctx, repo.Owner.DID, atcr.TagNSID, t.rkey, cid, t.record)
	s.tagKnown(ctx, repo, t, rec)
}

// tagKnown puts a tag record we wrote (and indexed) into the owner's
// cached listing and the tag cache, and announces it.
func (s *Store) tagKnown(ctx context.Context, repo registry.Repo, t tagWrite, rec *pdsread.ManifestRecord) {
	tr := &pdsread.TagRecord{RKey: t.rkey, Value: t.value, Pushed: s.now().UTC()}
	if idx := s.loadedIndex(repo.Owner.DID); idx != nil {
		idx.putTag(tr)
		idx.bytes.Add(tagRecordJSON)
	}
	version := s.indexChanged(ctx, repo.Owner.DID, indexChange{PutTag: tr})
	s.tagCache.Set(t.key, tagAnswer{digest: rec.Digest, version: version})
}

// putNew writes a new manifest record and its tags in one applyWrites
// (shared with the owner's other pushes waiting at the same time:
// pushbatch.go), then notifies the hold. When the batch fails for any
// reason but the session, the content or the client going away, the
// records are written one by one instead (putStepwise): the index may have
// guessed wrong whether a tag exists (another AppView or client wrote or
// deleted it), which the PDS answers with a 500, and a batch that failed
// wrote nothing.
func (s *Store) putNew(ctx context.Context, client *atclient.APIClient, h holdclient.Hold, idx *repoIndex, repo registry.Repo, put registry.ManifestPut, hold syntax.DID, blob atdata.Blob) error {
	rec, m, size, err := s.newManifestRecord(repo, put, hold, blob)
	if err != nil {
		return err
	}
	tags := make([]tagWrite, len(put.Tags))
	writes := make([]recordWrite, 0, 1+len(put.Tags))
	writes = append(writes, recordWrite{op: opCreate, collection: atcr.ManifestNSID, rkey: rec.RKey, value: m})
	for i, tag := range put.Tags {
		tags[i] = s.tagWrite(idx, repo, tag, rec)
		op := opCreate
		if tags[i].old != nil {
			op = opUpdate
		}
		writes = append(writes, recordWrite{op: op, collection: atcr.TagNSID, rkey: tags[i].rkey, value: tags[i].record})
		size += tagRecordJSON
	}
	results, err := s.pushes.apply(ctx, client, repo.Owner.DID, writes, size)
	if errors.Is(err, registry.ErrNoSession) || errors.Is(err, registry.ErrManifestNotStorable) || (err != nil && ctx.Err() != nil) {
		return fmt.Errorf("store manifest %s: %w", put.Digest, err)
	}
	if err != nil {
		s.log.WarnContext(ctx, "storage: applyWrites of a manifest and its tags failed; writing them one by one", "manifest", rec.URI, "err", err)
		return s.putStepwise(ctx, client, h, repo, put, rec, m)
	}
	// The UI index's rows (a SQLite commit per record, 3–4 ms in all) are
	// written while the hold reads the record back; a refusal takes them
	// out again (withdrawPush).
	indexed := s.indexBatch(ctx, repo.Owner.DID, rec, m, tags, results)
	if err := s.notifyHold(ctx, h, repo, put, rec); err != nil {
		<-indexed
		s.withdrawPush(ctx, client, repo, rec, tags, results[1:])
		return s.notifyRefusal(ctx, repo, h, put, err)
	}
	<-indexed
	s.manifestKnown(ctx, repo.Owner.DID, rec, m)
	for _, t := range tags {
		s.tagKnown(ctx, repo, t, rec)
	}
	s.pushDone(repo, put)
	return nil
}

// indexBatch indexes the records of a batch (the manifest, then its tags)
// in the background; the channel is closed when they are.
func (s *Store) indexBatch(ctx context.Context, did syntax.DID, rec *pdsread.ManifestRecord, m map[string]any, tags []tagWrite, results []writeResult) <-chan struct{} {
	done := make(chan struct{})
	if s.indexer == nil {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		s.indexRecord(ctx, did, atcr.ManifestNSID, rec.RKey, results[0].CID, m)
		for i, t := range tags {
			s.indexRecord(ctx, did, atcr.TagNSID, t.rkey, results[i+1].CID, t.record)
		}
	}()
	return done
}

// putStepwise writes the manifest record, notifies the hold (withdrawing
// the record when it refuses), then writes each tag: no tag ever points
// at a manifest the hold has not accepted.
func (s *Store) putStepwise(ctx context.Context, client *atclient.APIClient, h holdclient.Hold, repo registry.Repo, put registry.ManifestPut, rec *pdsread.ManifestRecord, m map[string]any) error {
	written, err := writeRecord(ctx, client, repo.Owner.DID, atcr.ManifestNSID, rec.RKey, m, true)
	if err != nil {
		return fmt.Errorf("store manifest %s: %w", put.Digest, err)
	}
	s.manifestWritten(ctx, repo.Owner.DID, rec, written.CID, m)
	if err := s.notifyHold(ctx, h, repo, put, rec); err != nil {
		s.withdrawManifest(ctx, client, repo, rec)
		return s.notifyRefusal(ctx, repo, h, put, err)
	}
	for _, tag := range put.Tags {
		if _, err := s.writeTag(ctx, client, repo, tag, rec); err != nil {
			return err
		}
	}
	s.pushDone(repo, put)
	return nil
}

// withdrawPush undoes a batch the hold refused: each tag goes back to the
// record it replaced (or away, if it was new), each only while it is
// still the one this push wrote; then the manifest record goes. When a
// tag cannot be put back the manifest record stays, so that tag does not
// point at nothing; the error is logged. It runs whatever the client does
// meanwhile.
func (s *Store) withdrawPush(ctx context.Context, client *atclient.APIClient, repo registry.Repo, rec *pdsread.ManifestRecord, tags []tagWrite, written []writeResult) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.NotifyTimeout)
	defer cancel()
	did := repo.Owner.DID
	restored := true
	for i, t := range tags {
		var err error
		var old map[string]any
		cid := ""
		if t.old != nil {
			if old, err = toRecordMap(&t.old.Value); err == nil {
				cid, err = putRecordSwap(ctx, client, did, atcr.TagNSID, t.rkey, old, written[i].CID)
			}
		} else {
			err = deleteRecordSwap(ctx, client, did, atcr.TagNSID, t.rkey, written[i].CID)
		}
		if err != nil && !isInvalidSwap(err) { // InvalidSwap: moved since, not ours to undo
			restored = false
			s.log.ErrorContext(ctx, "storage: could not put back a tag of a refused push", "tag", t.tag, "manifest", rec.URI, "err", err)
			continue
		}
		// The index has the row this push wrote (indexBatch): it gets the
		// record put back, or loses it (a tag moved meanwhile comes back
		// with the other writer's Jetstream event).
		if err == nil && t.old != nil && cid != "" {
			s.indexRecord(ctx, did, atcr.TagNSID, t.rkey, cid, old)
		} else {
			s.unindexRecord(ctx, did, atcr.TagNSID, t.rkey)
		}
		s.tagCache.Remove(t.key)
	}
	if restored {
		s.withdrawManifest(ctx, client, repo, rec)
	}
	// The tags put back are not tracked record by record: this AppView
	// and the others (an empty change) list the account again.
	s.indexes.remove(did)
	s.indexChanged(ctx, did, indexChange{})
}

// isInvalidSwap reports whether the PDS refused a write because the
// record was no longer at the CID the write named.
func isInvalidSwap(err error) bool {
	var apiErr *atclient.APIError
	return errors.As(err, &apiErr) && apiErr.Name == "InvalidSwap"
}
