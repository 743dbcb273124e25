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
// A hold DID that a manifest names (and that wrote nothing in the batch)
// goes to NoticeHold with the account that named it: an account chooses
// the holds its records name freely, so the watcher can keep them from
// crowding out accounts.
//
// Notice and NoticeHold run under the sink's lock, on the consumer's path:
// they must not block.
type DIDWatcher interface {
	Notice(did string, firstSeen bool)
	NoticeHold(hold, namedBy string, firstSeen bool)
}

// watched is a DID of a batch: whether the index had no rows of it, and,
// for a hold only named by a manifest, the account naming it.
type watched struct {
	firstSeen bool
	namedBy   string
}

// maxSeenDIDs bounds the sink's memory of DIDs known to have rows; when it
// is full it is cleared, and the database is asked again.
const maxSeenDIDs = 100_000

// watchLocked returns the io.atcr.* DIDs of the pending batch, each with
// whether the index has no rows of it yet; nil without a watcher. DIDs
// the sink already knows to have rows are not looked up.
func (k *JetstreamSink) watchLocked(ctx context.Context) (map[string]*watched, error) {
	if k.opts.DIDs == nil {
		return nil, nil
	}
	batch := map[string]*watched{}
	var check []string
	// add adds did, written by the batch (namedBy "") or named by
	// namedBy's manifest; a DID that writes is an account whoever names it.
	add := func(did, namedBy string) {
		if w, ok := batch[did]; ok {
			if namedBy == "" {
				w.namedBy = ""
			}
			return
		}
		if _, err := syntax.ParseDID(did); err != nil {
			return // Apply refuses the event; a hold that is no DID is never read
		}
		batch[did] = &watched{namedBy: namedBy}
		if _, ok := k.seen[did]; !ok {
			check = append(check, did)
		}
	}
	for _, ev := range k.pending {
		if !strings.HasPrefix(ev.Collection, "io.atcr.") {
			continue
		}
		add(ev.DID, "")
		// The hold a manifest names: holds' captain and crew records are
		// in the holds' own repos, which Jetstream may not follow, so a
		// hold first named here is read from its repo like an account.
		if hold := manifestHold(ev); hold != "" {
			add(hold, ev.DID)
		}
	}
	unseen, err := k.store.UnseenDIDs(ctx, check)
	if err != nil {
		return nil, err
	}
	for _, did := range unseen {
		batch[did].firstSeen = true
	}
	return batch, nil
}

// noticeLocked reports a written batch's DIDs to the watcher and
// remembers them as seen.
func (k *JetstreamSink) noticeLocked(batch map[string]*watched) {
	for did, w := range batch {
		if len(k.seen) >= maxSeenDIDs {
			clear(k.seen)
		}
		// A DID only named as a hold is not known to have rows until it
		// has: if it is an account that writes later, its first write must
		// still read as first seen.
		if w.namedBy == "" || !w.firstSeen {
			k.seen[did] = struct{}{}
		}
		if w.firstSeen {
			k.firstSeen.Add(1)
		}
		if w.namedBy != "" {
			k.opts.DIDs.NoticeHold(did, w.namedBy, w.firstSeen)
		} else {
			k.opts.DIDs.Notice(did, w.firstSeen)
		}
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
