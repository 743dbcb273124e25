package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/holdclient"
	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// notifyAttempts is how often a notification is tried while the hold is
// unreachable or failing (a restart, a timeout), Options.NotifyBackoff
// apart and then four times that.
const notifyAttempts = 3

// notifyHold tells the hold about the push (io.atcr.hold.notifyManifest):
// it records the layers under the owner's quota and keeps them from
// garbage collection. An unreachable or failing hold is tried again; a
// refusal (quota, a missing blob, no crew membership) is not.
func (s *Store) notifyHold(ctx context.Context, h holdclient.Hold, repo registry.Repo, put registry.ManifestPut, rec *pdsread.ManifestRecord) error {
	in := atcr.HoldNotifyManifest_Input{
		Repository:     repo.Path(),
		ManifestDigest: put.Digest.String(),
		ManifestURI:    rec.URI,
		MediaType:      put.Manifest.MediaType(),
		Layers:         []atcr.HoldNotifyManifest_Descriptor{},
	}
	if len(put.Tags) > 0 {
		in.Tag = put.Tags[0].String()
	}
	if cfg, ok := put.Manifest.Config(); ok {
		in.Config = notifyDescriptor(cfg)
	}
	for _, l := range put.Manifest.Layers() {
		if !oci.IsNondistributable(l.MediaType) {
			in.Layers = append(in.Layers, *notifyDescriptor(l))
		}
	}
	if subj, ok := put.Manifest.Subject(); ok {
		in.Subject = notifyDescriptor(subj)
	}
	// The record is written: the hold must hear of it even if the client
	// gives up now.
	ctx = context.WithoutCancel(ctx)
	wait := s.opts.NotifyBackoff
	var err error
	for attempt := 1; ; attempt++ {
		err = s.hold.NotifyManifest(ctx, h, in, s.opts.NotifyTimeout)
		if err == nil || !errors.Is(err, registry.ErrUnavailable) || attempt == notifyAttempts {
			break
		}
		s.log.WarnContext(ctx, "storage: notifyManifest failed; trying again", "hold", h.DID, "manifest", rec.URI, "attempt", attempt, "err", err)
		time.Sleep(wait)
		wait *= 4
	}
	if err != nil {
		return fmt.Errorf("notify %s of %s: %w", h.DID, rec.URI, err)
	}
	return nil
}

// notifyRefusal is the push's answer when notifyHold failed. A blob the
// hold does not have (garbage-collected since the client checked, or a
// stale answer of the stat cache) is MANIFEST_BLOB_UNKNOWN for each such
// blob, asked afresh, so the client uploads them again.
func (s *Store) notifyRefusal(ctx context.Context, repo registry.Repo, h holdclient.Hold, put registry.ManifestPut, err error) error {
	if !errors.Is(err, registry.ErrBlobUnknown) {
		return err
	}
	for _, d := range uniqueDigests(put.Manifest.References()) {
		s.forgetBlob([]syntax.DID{h.DID}, d, h.Caller)
	}
	if again := s.checkReferences(ctx, repo, h, put.Manifest); again != nil {
		return again
	}
	return err // present again by now: the client may retry
}

func notifyDescriptor(d oci.Descriptor) *atcr.HoldNotifyManifest_Descriptor {
	return &atcr.HoldNotifyManifest_Descriptor{Digest: d.Digest.String(), MediaType: d.MediaType, Size: d.Size}
}

// notifyHoldDeleted tells the hold named in a deleted manifest record
// (io.atcr.hold.notifyManifestDeleted) to drop the record's layer records,
// which frees the owner's quota there and lets its garbage collector
// reclaim blobs nothing else references. The delete has succeeded whatever
// the hold answers: a failure is logged, and the layer records stay until
// a later notification.
func (s *Store) notifyHoldDeleted(ctx context.Context, owner syntax.DID, rec *pdsread.ManifestRecord) {
	if rec.Value.HoldDID == "" {
		return // an old record naming no hold: no hold holds its layer records
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.NotifyTimeout)
	defer cancel()
	log := s.log.With("hold", rec.Value.HoldDID, "manifest", rec.URI)
	hold, err := syntax.ParseDID(rec.Value.HoldDID)
	if err != nil {
		log.WarnContext(ctx, "storage: deleted manifest names an invalid hold DID; not notifying it", "err", err)
		return
	}
	n, err := s.notifyHoldOf(ctx, hold, owner, rec.URI)
	if err != nil {
		log.WarnContext(ctx, "storage: notifyManifestDeleted failed; the delete stands", "err", err)
		return
	}
	log.DebugContext(ctx, "storage: hold dropped the deleted manifest's layer records", "layersDeleted", n)
}

// notifyHoldOf resolves the hold and calls notifyManifestDeleted as owner.
func (s *Store) notifyHoldOf(ctx context.Context, hold, owner syntax.DID, manifestURI string) (int64, error) {
	h, err := s.hold.Hold(ctx, hold, owner)
	if err != nil {
		return 0, err
	}
	return s.hold.NotifyManifestDeleted(ctx, h, manifestURI, s.opts.NotifyTimeout)
}
