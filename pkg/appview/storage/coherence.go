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
//  1. increments the account's version (indexVersionKey), and
//  2. publishes on indexChannel the DID, that version and what the write
//     did (indexChange: the record put, or the record key removed).
//
// Every other AppView applies the change to its index of that DID when the
// index is current with the version before it, so a push through one
// AppView costs the others no listing of the account; an index that missed
// a version (a message lost, or arriving out of turn) is dropped and listed
// again on its next use. After a reconnect (messages may have been lost)
// every index is dropped. Pub/sub is asynchronous, so the answers a client
// could see stale right after its own push also check the version (one
// GET): a lookup that misses the index reloads at once when the version
// moved past the one the index was listed under, and a tag answered from
// the tag cache is taken again from an index current with the version, or
// read again from the PDS.
const (
	indexVersionKey = "atcr:storage:index-version:"
	indexChannel    = "atcr:storage:index-changed"
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
	origin string // this Store's id, so it ignores its own messages
	log    *slog.Logger
	pubsub *redis.PubSub
	cancel context.CancelFunc
	done   chan struct{}
}

// startCoherence subscribes to indexChannel and drops the indexes other
// AppViews announce changed.
func (s *Store) startCoherence(rdb redis.UniversalClient) error {
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return fmt.Errorf("coherence id: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &coherence{rdb: rdb, origin: hex.EncodeToString(id), log: s.log, cancel: cancel, done: make(chan struct{})}
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
		if len(parts) < 2 || parts[0] == origin {
			return
		}
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
			var change indexChange
			if err == nil && json.Unmarshal([]byte(parts[3]), &change) == nil && change.valid(did) &&
				s.applyChange(idx, version, change) {
				return
			}
		}
		s.indexes.remove(did)
	}
}

func (c *coherence) close() {
	c.cancel()
	_ = c.pubsub.Close()
	<-c.done
}

// indexVersion returns the account's version in Redis (0 before any
// write); ok is false without Redis or when it did not answer.
func (s *Store) indexVersion(ctx context.Context, did syntax.DID) (int64, bool) {
	if s.coh == nil {
		return 0, false
	}
	ctx, cancel := context.WithTimeout(ctx, coherenceTimeout)
	defer cancel()
	v, err := s.coh.rdb.Get(ctx, indexVersionKey+did.String()).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, true
	}
	if err != nil {
		s.log.WarnContext(ctx, "storage: read index version", "did", did, "err", err)
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
	key := indexVersionKey + did.String()
	// INCR and PUBLISH in one script, so messages leave in version order
	// (a MULTI could not put INCR's answer into the message).
	v, err := announceScript.Run(ctx, s.coh.rdb, []string{key}, indexChannel,
		s.coh.origin+" "+did.String(), string(body), int64(indexVersionTTL/time.Second)).Int64()
	if err != nil {
		s.log.WarnContext(ctx, "storage: announce index change", "did", did, "err", err)
		return 0
	}
	// Our own index has our write; it is current only if no other AppView
	// wrote since it was last known current.
	if idx := s.loadedIndex(did); idx != nil {
		idx.version.CompareAndSwap(v-1, v)
	}
	return v
}

// announceScript increments the version (KEYS[1]), refreshes its TTL
// (ARGV[4] seconds) and publishes "ARGV[2] VERSION ARGV[3]" on ARGV[1].
var announceScript = redis.NewScript(`
local v = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('PUBLISH', ARGV[1], ARGV[2] .. ' ' .. v .. ' ' .. ARGV[3])
return v
`)

// indexOutdated reports whether another AppView wrote to the account
// since idx was listed (one GET; false without Redis).
func (s *Store) indexOutdated(ctx context.Context, idx *repoIndex) bool {
	v, ok := s.indexVersion(ctx, idx.did)
	return ok && v > idx.version.Load()
}
