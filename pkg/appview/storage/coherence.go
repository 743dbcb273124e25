package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/redis/go-redis/v9"
)

// Read-your-writes across AppViews sharing one Redis (Options.Redis). Each
// AppView keeps its own per-DID index and tag answers; without help, one
// AppView would not see the records another just wrote until a miss
// reloaded (at most every minIndexRefresh) or a TTL ran out. So every
// write this AppView makes to an account's manifest or tag records, before
// its response goes out:
//
//  1. increments the account's version (indexVersionKey),
//  2. appends that version and what the write did (indexChange: the
//     record put, or the record key removed) to the account's change log
//     (indexChangesKey, the last indexChangesKept changes), and
//  3. publishes the DID, the version and the change on indexChannel.
//
// Every AppView, the writer included, applies the changes to its index of
// that DID in version order: a change is applied when the index is current
// with the version before it. The writer has put the record in its own
// index already, but an earlier change from another AppView may still be
// on its way and touch the same record, so only the change applied in turn
// makes the index current with the version. A push through one AppView so
// costs the others no listing of the account. Pub/sub is asynchronous, so
// the answers a client could see stale right after its own push also check
// the version (one GET), and an index behind it catches up from the change
// log (one LRANGE; catchUp) rather than the PDS: a lookup that misses the
// index, and a tag answered from the tag cache, are answered from an index
// current with the version. An index the log cannot bring up to date (the
// version before it was trimmed, or a withdrawn push, which is not a
// record change) is listed again; a tag is then read from the PDS. After a
// reconnect (messages may have been lost) every index is dropped.
const (
	indexVersionKey = "atcr:storage:index-version:"
	indexChangesKey = "atcr:storage:index-changes:"
	indexChannel    = "atcr:storage:index-changed"
	// indexChangesKept bounds an account's change log: an index more
	// changes behind is listed again.
	indexChangesKept = 256
	// indexVersionTTL outlives every cached answer (Options.IndexTTL,
	// TagTTL), refreshed by each write: a version that expired can only
	// be compared with answers that expired too.
	indexVersionTTL = 24 * time.Hour
	// coherenceTimeout bounds one version read or write; a Redis that does
	// not answer leaves the TTL-bounded behaviour of a single AppView.
	coherenceTimeout = 2 * time.Second
)

// coherence is the Redis side of it; nil in a Store without Redis.
type coherence struct {
	rdb    redis.UniversalClient
	origin string // this Store's id: its own messages are not changes to drop an index for
	log    *slog.Logger
	pubsub *redis.PubSub
	cancel context.CancelFunc
	done   chan struct{}
	// versions reads the version counters, shared between the requests
	// waiting at the same time (freshreads.go).
	versions *freshReads
}

// newCoherence is the shared state of rdb, not yet subscribed.
func newCoherence(rdb redis.UniversalClient, origin string, log *slog.Logger) *coherence {
	c := &coherence{rdb: rdb, origin: origin, log: log}
	c.versions = newFreshReads(func(ctx context.Context, key string) (int64, error) {
		ctx, cancel := context.WithTimeout(ctx, coherenceTimeout)
		defer cancel()
		// A plain GET answers nearly always; only a counter Redis does
		// not hold (yet, or any more) takes the script that starts it.
		v, err := rdb.Get(ctx, key).Int64()
		if errors.Is(err, redis.Nil) {
			return readVersionScript.Run(ctx, rdb, []string{key}).Int64()
		}
		return v, err
	})
	return c
}

// startCoherence subscribes to indexChannel and drops the indexes other
// AppViews announce changed.
func (s *Store) startCoherence(rdb redis.UniversalClient) error {
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return fmt.Errorf("coherence id: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := newCoherence(rdb, hex.EncodeToString(id), s.log)
	c.cancel, c.done = cancel, make(chan struct{})
	c.pubsub = rdb.Subscribe(ctx, indexChannel)
	// Wait for the subscription so no write announced after New returns
	// is missed; if Redis does not answer, the reconnect below drops
	// everything once it does.
	subCtx, subCancel := context.WithTimeout(ctx, coherenceTimeout)
	defer subCancel()
	if _, err := c.pubsub.Receive(subCtx); err != nil {
		s.log.Warn("storage: index invalidation channel not subscribed yet", "err", err)
	}
	s.coh = c
	go s.followInvalidations(c)
	return nil
}

// followInvalidations applies the messages of indexChannel until Close.
func (s *Store) followInvalidations(c *coherence) {
	defer close(c.done)
	for msg := range c.pubsub.ChannelWithSubscriptions() {
		s.applyInvalidation(c.origin, msg)
	}
}

// applyInvalidation applies one message of indexChannel (a
// *redis.Message) or of the subscription (a *redis.Subscription) for the
// Store whose own messages carry origin.
func (s *Store) applyInvalidation(origin string, msg any) {
	switch m := msg.(type) {
	case *redis.Subscription:
		// A (re)subscription after a reconnect: messages published
		// meanwhile are lost, so no cached index can be trusted.
		if m.Kind == "subscribe" {
			s.indexes.purge()
			s.log.Info("storage: index invalidation channel (re)subscribed; dropped every cached index")
		}
	case *redis.Message:
		// "ORIGIN DID" (before changes were published) or
		// "ORIGIN DID VERSION CHANGE-JSON".
		parts := strings.SplitN(m.Payload, " ", 4)
		if len(parts) < 2 {
			return
		}
		own := parts[0] == origin
		did, err := syntax.ParseDID(parts[1])
		if err != nil {
			return
		}
		idx := s.loadedIndex(did)
		if idx == nil {
			return
		}
		if len(parts) == 4 {
			version, err := strconv.ParseInt(parts[2], 10, 64)
			change, ok := parseChange(did, parts[3])
			if err == nil && ok && s.applyChange(idx, version, change) {
				return
			}
		}
		// Our own withdrawn push dropped our index when it was written.
		if !own {
			s.indexes.remove(did)
		}
	}
}

func (c *coherence) close() {
	c.cancel()
	_ = c.pubsub.Close()
	<-c.done
}

// indexVersion returns the account's version in Redis (started at Redis's
// clock when absent, versionBase); ok is false without Redis or when it
// did not answer.
func (s *Store) indexVersion(ctx context.Context, did syntax.DID) (int64, bool) {
	return s.readVersion(ctx, indexVersionKey+did.String())
}

// readVersion returns the counter at key (started when absent), read
// after the call began — in one GET with the calls for the same key that
// wait at the same time (freshreads.go); ok is false without Redis or when
// it did not answer.
func (s *Store) readVersion(ctx context.Context, key string) (int64, bool) {
	if s.coh == nil {
		return 0, false
	}
	ctx, cancel := context.WithTimeout(ctx, coherenceTimeout)
	defer cancel()
	v, err := s.coh.versions.read(ctx, key)
	if err != nil {
		s.log.WarnContext(ctx, "storage: read version", "key", key, "err", err)
		return 0, false
	}
	return v, true
}

// indexChanged announces a write to the account's manifest or tag records
// (see the top of this file) and returns the new version (0 without
// Redis). It runs whatever the client does meanwhile: the write is done.
// A failure is logged: the other AppViews then see the write once a miss
// reloads or a TTL runs out, as without Redis.
func (s *Store) indexChanged(ctx context.Context, did syntax.DID, change indexChange) int64 {
	if s.coh == nil {
		return 0
	}
	body, err := json.Marshal(change)
	if err != nil { // every field is plain data; cannot happen
		body = []byte("{}")
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), coherenceTimeout)
	defer cancel()
	keys := []string{indexVersionKey + did.String(), indexChangesKey + did.String()}
	// INCR, the log and PUBLISH in one script, so changes are logged and
	// leave in version order (a MULTI could not put INCR's answer into
	// the message). Our own index has our record already; it becomes
	// current with v when our message comes back in turn.
	v, err := announceScript.Run(ctx, s.coh.rdb, keys, indexChannel,
		s.coh.origin+" "+did.String(), string(body), int64(indexVersionTTL/time.Second), indexChangesKept).Int64()
	if err != nil {
		s.log.WarnContext(ctx, "storage: announce index change", "did", did, "err", err)
		return 0
	}
	return v
}

// versionBase is Lua that starts an absent version counter (KEYS[1]) at
// Redis's clock in microseconds, with indexVersionTTL. A counter that
// starts again (Redis restarted without persistence, or the key expired)
// must not start below the versions the AppViews' cached answers carry:
// from 0, a tag moved right after a Redis restart was answered with its
// old digest by the other AppViews until the cache's TTL ran out, its
// version being lower than the cached one. Versions rise by one per
// write, far slower than the clock, so a counter started later starts
// above every earlier one. Reads start the counter too (readVersionScript),
// so an index listed before an account's first write is current with the
// version that write follows, and applies it in turn.
var versionBase = fmt.Sprintf(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  local t = redis.call('TIME')
  redis.call('SET', KEYS[1], t[1] .. string.format('%%06d', tonumber(t[2])), 'EX', %d)
end
`, int64(indexVersionTTL/time.Second))

// readVersionScript returns a version counter (KEYS[1]), started by
// versionBase when absent.
var readVersionScript = redis.NewScript(versionBase + `
return redis.call('GET', KEYS[1])
`)

// announceScript increments the version (KEYS[1], started by versionBase),
// appends "VERSION ARGV[3]" to the change log (KEYS[2], trimmed to ARGV[5]
// entries), gives both a TTL of ARGV[4] seconds and publishes "ARGV[2]
// VERSION ARGV[3]" on ARGV[1].
var announceScript = redis.NewScript(versionBase + `
local v = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[4])
-- %d: Lua would write a number this large as 1.79e+15
local entry = string.format('%d', v) .. ' ' .. ARGV[3]
redis.call('RPUSH', KEYS[2], entry)
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[5]), -1)
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('PUBLISH', ARGV[1], ARGV[2] .. ' ' .. entry)
return v
`)

// catchUp brings idx up to version from the account's change log (one
// LRANGE) and reports whether it is current with it now; false means the
// log cannot (without Redis, a version trimmed from it or a withdrawn
// push) and the index must be listed again.
func (s *Store) catchUp(ctx context.Context, idx *repoIndex, version int64) bool {
	if idx.version.Load() >= version {
		return true
	}
	if s.coh == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, coherenceTimeout)
	defer cancel()
	// The log's tail: the changes since the index's version, and a few
	// more written since version was read; the whole log only if that
	// did not reach back far enough.
	want := min(version-idx.version.Load()+catchUpSlack, indexChangesKept)
	entries, err := s.changeLog(ctx, idx.did, want)
	if err == nil && int64(len(entries)) == want && want < indexChangesKept && !startsBy(entries, idx.version.Load()+1) {
		entries, err = s.changeLog(ctx, idx.did, indexChangesKept)
	}
	if err != nil {
		s.log.WarnContext(ctx, "storage: read index change log", "did", idx.did, "err", err)
		return false
	}
	for _, e := range entries {
		v, body, ok := strings.Cut(e, " ")
		n, err := strconv.ParseInt(v, 10, 64)
		if !ok || err != nil {
			return false
		}
		if n <= idx.version.Load() {
			continue
		}
		if n > version {
			break
		}
		change, ok := parseChange(idx.did, body)
		if !ok || !s.applyChange(idx, n, change) {
			return false
		}
	}
	return idx.version.Load() >= version
}

// catchUpSlack is how many changes past the version it was asked for a
// catch-up reads, for writes landing between the version's GET and the
// log's LRANGE.
const catchUpSlack = 16

// changeLog returns the last n entries of the account's change log
// ("VERSION CHANGE-JSON", oldest first).
func (s *Store) changeLog(ctx context.Context, did syntax.DID, n int64) ([]string, error) {
	return s.coh.rdb.LRange(ctx, indexChangesKey+did.String(), -n, -1).Result()
}

// startsBy reports whether a change log's first entry has a version of at
// most v (so the log reaches back to v).
func startsBy(entries []string, v int64) bool {
	if len(entries) == 0 {
		return false
	}
	first, _, _ := strings.Cut(entries[0], " ")
	n, err := strconv.ParseInt(first, 10, 64)
	return err == nil && n <= v
}

// indexOutdated reports whether another AppView wrote to the account
// since idx was listed and the change log cannot bring it up to date (one
// GET, and an LRANGE when it is behind; false without Redis).
func (s *Store) indexOutdated(ctx context.Context, idx *repoIndex) bool {
	v, ok := s.indexVersion(ctx, idx.did)
	return ok && !s.catchUp(ctx, idx, v)
}
