package index

import (
	"context"
	"strings"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
)

// DIDWatcher is told, after every batch the Jetstream sink wrote, of each
// DID whose io.atcr.* commits were in it: firstSeen when the index had no
// rows of that DID's records before the batch (UnseenDIDs), so its whole
// repository can be read (pkg/appview/backfill's Scheduler); the other
// DIDs too, so a backfill that failed can be tried again at the account's
// next event. Commits of other collections (app.bsky.actor.profile) are
// not reported: they say nothing of an ATCR account.
//
// Notice runs under the sink's lock, on the consumer's path: it must not
// block.
type DIDWatcher interface {
	Notice(did string, firstSeen bool)
}

// maxSeenDIDs bounds the sink's memory of DIDs known to have rows; when it
// is full it is cleared, and the database is asked again.
const maxSeenDIDs = 100_000

// watchLocked returns the io.atcr.* DIDs of the pending batch, each with
// whether the index has no rows of it yet; nil without a watcher. DIDs
// the sink already knows to have rows are not looked up.
func (k *JetstreamSink) watchLocked(ctx context.Context) (map[string]bool, error) {
	if k.opts.DIDs == nil {
		return nil, nil
	}
	batch := map[string]bool{}
	var check []string
	add := func(did string) {
		if _, ok := batch[did]; ok {
			return
		}
		if _, err := syntax.ParseDID(did); err != nil {
			return // Apply refuses the event; a hold that is no DID is never read
		}
		batch[did] = false
		if _, ok := k.seen[did]; !ok {
			check = append(check, did)
		}
	}
	for _, ev := range k.pending {
		if !strings.HasPrefix(ev.Collection, "io.atcr.") {
			continue
		}
		add(ev.DID)
		// The hold a manifest names: holds' captain and crew records are
		// in the holds' own repos, which Jetstream may not follow, so a
		// hold first named here is read from its repo like an account.
		if hold := manifestHold(ev); hold != "" {
			add(hold)
		}
	}
	unseen, err := k.store.UnseenDIDs(ctx, check)
	if err != nil {
		return nil, err
	}
	for _, did := range unseen {
		batch[did] = true
	}
	return batch, nil
}

// noticeLocked reports a written batch's DIDs to the watcher and
// remembers them as seen.
func (k *JetstreamSink) noticeLocked(batch map[string]bool) {
	for did, first := range batch {
		if len(k.seen) >= maxSeenDIDs {
			clear(k.seen)
		}
		k.seen[did] = struct{}{}
		if first {
			k.firstSeen.Add(1)
		}
		k.opts.DIDs.Notice(did, first)
	}
}

// manifestHold is the holdDid of a manifest record written by ev, "" for
// anything else.
func manifestHold(ev Event) string {
	if ev.Delete || ev.Collection != atcr.ManifestNSID {
		return ""
	}
	hold, _ := ev.Value["holdDid"].(string)
	return hold
}
