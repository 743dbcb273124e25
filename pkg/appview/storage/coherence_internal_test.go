package storage

import (
	"log/slog"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/redis/go-redis/v9"
)

// TestApplyInvalidation: another AppView's message drops the index of its
// DID only; this Store's own messages and malformed ones drop nothing; a
// (re)subscription after a reconnect drops every index.
func TestApplyInvalidation(t *testing.T) {
	s := &Store{indexes: newIndexCache(10, 1<<20), log: slog.New(slog.DiscardHandler)}
	alice, bob := syntax.DID("did:plc:alice"), syntax.DID("did:plc:bob")
	load := func() {
		for _, did := range []syntax.DID{alice, bob} {
			s.indexes.add(did, &repoIndex{did: did})
		}
	}
	cached := func(did syntax.DID) bool { _, ok := s.indexes.peek(did); return ok }

	load()
	for _, payload := range []string{"me " + alice.String(), "other", "other not-a-did"} {
		s.applyInvalidation("me", &redis.Message{Channel: indexChannel, Payload: payload})
	}
	if !cached(alice) || !cached(bob) {
		t.Fatal("own or malformed message dropped an index")
	}
	s.applyInvalidation("me", &redis.Message{Channel: indexChannel, Payload: "other " + alice.String()})
	if cached(alice) || !cached(bob) {
		t.Fatalf("another AppView's write to alice: alice cached %v, bob cached %v", cached(alice), cached(bob))
	}

	load()
	s.applyInvalidation("me", &redis.Subscription{Kind: "subscribe", Channel: indexChannel, Count: 1})
	if cached(alice) || cached(bob) {
		t.Fatal("a resubscription kept indexes cached while messages may have been lost")
	}
}
