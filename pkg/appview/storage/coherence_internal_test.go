package storage

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/redis/go-redis/v9"

	"atcr.io/internal/redistest"
	"atcr.io/pkg/appview/bytecache"
	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
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

// TestApplyChange: a change announced with the version after the index's
// (by another AppView or this one) is applied and makes the index current
// with it; one the index already has (listed after the write) changes
// nothing; one after a missed version, a malformed one, or a message
// without a change drops the index so it is listed again.
func TestApplyChange(t *testing.T) {
	alice := syntax.DID("did:plc:alice")
	s := coherenceStore(nil, "me")
	idx := loadedIndexAt(s, alice, 4)
	d := oci.FromBytes(oci.SHA256, []byte("manifest"))
	rec := &pdsread.ManifestRecord{RKey: "3m1", URI: pdsread.ManifestURI(alice, "3m1"), Digest: d,
		Value: atcr.Manifest{Digest: d.String(), Repository: "app"}}
	tag := &pdsread.TagRecord{RKey: "app:v1", Value: atcr.Tag{Repository: "app", Tag: "v1", Manifest: rec.URI}}
	send := func(from string, version int64, c indexChange) { t.Helper(); deliver(t, s, from, alice, version, c) }
	current := func() *repoIndex { t.Helper(); i, _ := s.indexes.peek(alice); return i }

	send("other", 5, indexChange{PutManifest: rec})
	send("other", 6, indexChange{PutTag: tag})
	if i := current(); i != idx || i.version.Load() != 6 || i.manifest("3m1") == nil || i.tag("app:v1") == nil {
		t.Fatalf("changes 5 and 6 not applied: index kept %v, version %d", i == idx, idx.version.Load())
	}
	if a, ok := s.tagCache.Get(tagKey{did: alice, repo: "app", tag: "v1"}); !ok || a.digest != d || a.version != 6 {
		t.Fatalf("the tag cache after another AppView moved the tag: %+v, %v", a, ok)
	}
	send("other", 6, indexChange{DropManifest: "3m1"})
	if i := current(); i != idx || i.manifest("3m1") == nil {
		t.Fatal("a change the index already has was applied again")
	}
	send("me", 7, indexChange{DropTag: "app:v1"}) // our own, applied in turn like the others'
	if idx.tag("app:v1") != nil || idx.version.Load() != 7 {
		t.Fatal("the tag was not dropped")
	}
	if _, ok := s.tagCache.Get(tagKey{did: alice, repo: "app", tag: "v1"}); ok {
		t.Fatal("the dropped tag is still answered from the tag cache")
	}

	for name, payload := range map[string]indexChange{
		"a missed version": indexChange{DropManifest: "3m1"}, // sent as 9 below
		"no change":        indexChange{},
		"two changes":      indexChange{DropManifest: "3m1", DropTag: "x"},
		"another account":  indexChange{PutManifest: &pdsread.ManifestRecord{RKey: "3m2", URI: pdsread.ManifestURI("did:plc:bob", "3m2"), Digest: d, Value: atcr.Manifest{Digest: d.String()}}},
	} {
		s.indexes.add(alice, idx)
		idx.version.Store(7)
		version := int64(8)
		if name == "a missed version" {
			version = 9
		}
		send("other", version, payload)
		if current() != nil {
			t.Errorf("%s: the index was kept", name)
		}
	}
	s.indexes.add(alice, idx)
	s.applyInvalidation("me", &redis.Message{Channel: indexChannel, Payload: "other " + alice.String() + " 8 {not json"})
	if current() != nil {
		t.Error("a change that does not decode kept the index")
	}
}

// TestOwnChangeIsAppliedInTurn: this AppView's own write is in its index
// at once, but an earlier write of another AppView to the same tag may
// still be on its way; applied after ours it would put the tag back, so
// the index is current with our version only once our own message, in
// turn, put our tag again.
func TestOwnChangeIsAppliedInTurn(t *testing.T) {
	alice := syntax.DID("did:plc:alice")
	s := coherenceStore(nil, "me")
	idx := loadedIndexAt(s, alice, 4)
	tagAt := func(uri string) *pdsread.TagRecord {
		return &pdsread.TagRecord{RKey: "app:latest", Value: atcr.Tag{Repository: "app", Tag: "latest", Manifest: uri}}
	}
	theirs, ours := tagAt(pdsread.ManifestURI(alice, "3m1")), tagAt(pdsread.ManifestURI(alice, "3m2"))
	send := func(from string, version int64, c indexChange) { t.Helper(); deliver(t, s, from, alice, version, c) }

	idx.putTag(ours) // our write, version 6, in our index at once
	send("other", 5, indexChange{PutTag: theirs})
	if idx.version.Load() != 5 {
		t.Fatalf("version %d after the other AppView's change 5, want 5", idx.version.Load())
	}
	send("me", 6, indexChange{PutTag: ours})
	if got := idx.tag("app:latest"); idx.version.Load() != 6 || got == nil || got.Value.Manifest != ours.Value.Manifest {
		t.Fatalf("after our own change 6: version %d, tag %+v; want 6 and our manifest", idx.version.Load(), got)
	}
	if got := idx.bytes.Load(); got != 0 {
		t.Fatalf("a tag the index held already added %d bytes to its measure", got)
	}
}

// TestCatchUpFromChangeLog: an index that missed the messages (it was
// being listed, or the subscription is slow) is brought up to the version
// from the account's change log in Redis; one whose next version was
// trimmed from the log, or that a withdrawn push stands in the way of,
// cannot be, and is listed again.
func TestCatchUpFromChangeLog(t *testing.T) {
	rdb := redistest.New(t)
	alice := syntax.DID("did:plc:alice")
	a, b := coherenceStore(rdb, "a"), coherenceStore(rdb, "b") // no subscriptions: only the log helps
	idx := emptyIndex(alice)
	b.indexes.add(alice, idx)
	d := oci.FromBytes(oci.SHA256, []byte("manifest"))
	rec := &pdsread.ManifestRecord{RKey: "3m1", URI: pdsread.ManifestURI(alice, "3m1"), Digest: d,
		Value: atcr.Manifest{Digest: d.String(), Repository: "app"}}
	tag := &pdsread.TagRecord{RKey: "app:v1", Value: atcr.Tag{Repository: "app", Tag: "v1", Manifest: rec.URI}}
	ctx := t.Context()
	startVersionAtZero(t, rdb, alice)

	a.indexChanged(ctx, alice, indexChange{PutManifest: rec})
	v := a.indexChanged(ctx, alice, indexChange{PutTag: tag})
	if v != 2 {
		t.Fatalf("version %d after two writes, want 2", v)
	}
	if !b.catchUp(ctx, idx, v) || idx.version.Load() != 2 || idx.manifest("3m1") == nil || idx.tag("app:v1") == nil {
		t.Fatalf("not caught up from the log: version %d", idx.version.Load())
	}
	if b.indexOutdated(ctx, idx) {
		t.Fatal("a caught-up index counts as outdated")
	}

	a.indexChanged(ctx, alice, indexChange{}) // a withdrawn push
	a.indexChanged(ctx, alice, indexChange{DropTag: "app:v1"})
	if !b.indexOutdated(ctx, idx) || idx.version.Load() != 2 {
		t.Fatalf("caught up past a withdrawn push: version %d", idx.version.Load())
	}

	behind := emptyIndex(alice)
	behind.version.Store(4)
	for range indexChangesKept + 1 {
		v = a.indexChanged(ctx, alice, indexChange{DropTag: "app:v1"})
	}
	if b.catchUp(ctx, behind, v) || behind.version.Load() != 4 {
		t.Fatalf("caught up although version 5 was trimmed from the log: version %d", behind.version.Load())
	}
	if n, err := rdb.LLen(ctx, indexChangesKey+alice.String()).Result(); err != nil || n != indexChangesKept {
		t.Fatalf("the log holds %d changes (%v), want %d", n, err, indexChangesKept)
	}
}

// TestCatchUpReadsBackPastItsWindow: a catch-up reads the log's tail
// (the versions asked for and catchUpSlack more); when more writes landed
// since the version was read than that, the tail does not reach back to
// the index, and the whole log is read.
func TestCatchUpReadsBackPastItsWindow(t *testing.T) {
	rdb := redistest.New(t)
	alice := syntax.DID("did:plc:alice")
	s := coherenceStore(rdb, "a")
	d := oci.FromBytes(oci.SHA256, []byte("manifest"))
	rec := &pdsread.ManifestRecord{RKey: "3m1", URI: pdsread.ManifestURI(alice, "3m1"), Digest: d,
		Value: atcr.Manifest{Digest: d.String(), Repository: "app"}}
	ctx := t.Context()
	startVersionAtZero(t, rdb, alice)
	s.indexChanged(ctx, alice, indexChange{PutManifest: rec})
	for i := range catchUpSlack + 20 {
		tag := &pdsread.TagRecord{RKey: fmt.Sprintf("app:v%d", i), Value: atcr.Tag{Repository: "app", Tag: fmt.Sprintf("v%d", i), Manifest: rec.URI}}
		s.indexChanged(ctx, alice, indexChange{PutTag: tag})
	}
	late := emptyIndex(alice)
	if !s.catchUp(ctx, late, 3) || late.version.Load() != 3 {
		t.Fatalf("not caught up to 3 from a log at %d: version %d", catchUpSlack+21, late.version.Load())
	}
	if late.manifest("3m1") == nil || late.tag("app:v0") == nil || late.tag("app:v1") == nil || late.tag("app:v2") != nil {
		t.Fatal("the index does not hold exactly the changes up to version 3")
	}
}

// coherenceStore is a Store with just what the coherence code uses: an
// index cache, a tag cache and, with rdb, Redis under origin (no
// subscription: messages are delivered by hand).
func coherenceStore(rdb redis.UniversalClient, origin string) *Store {
	s := &Store{indexes: newIndexCache(10, 1<<20), log: slog.New(slog.DiscardHandler),
		tagCache: bytecache.NewTTL(1<<20, time.Minute, time.Now, func(k tagKey, _ tagAnswer) int64 { return k.bytes() })}
	if rdb != nil {
		s.coh = newCoherence(rdb, origin, s.log)
	}
	return s
}

// loadedIndexAt is an empty index of did at version, loaded in s.
func loadedIndexAt(s *Store, did syntax.DID, version int64) *repoIndex {
	idx := emptyIndex(did)
	idx.version.Store(version)
	s.indexes.add(did, idx)
	return idx
}

// emptyIndex is an index of did with no records, at version 0.
func emptyIndex(did syntax.DID) *repoIndex {
	return &repoIndex{did: did, manifests: map[string]*pdsread.ManifestRecord{}, tags: map[string]*pdsread.TagRecord{}}
}

// deliver hands s ("me") the message from announces for a change of did's
// records at version.
func deliver(t *testing.T, s *Store, from string, did syntax.DID, version int64, c indexChange) {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	s.applyInvalidation("me", &redis.Message{Channel: indexChannel, Payload: fmt.Sprintf("%s %s %d %s", from, did, version, b)})
}

// startVersionAtZero sets the account's version counter to 0, so the
// writes of a test are versions 1, 2, … (a counter Redis does not hold
// starts at its clock, versionBase).
func startVersionAtZero(t *testing.T, rdb redis.UniversalClient, did syntax.DID) {
	t.Helper()
	if err := rdb.Set(t.Context(), indexVersionKey+did.String(), 0, indexVersionTTL).Err(); err != nil {
		t.Fatal(err)
	}
}

// TestVersionsNeverGoBack: a version counter Redis lost (a restart
// without persistence, FLUSHALL, an expired key) starts again above every
// version written before, so answers cached under the old versions are
// not taken as current with the new ones. From 0, a tag moved right after
// a Redis restart was served with its old digest by the other AppViews for
// the cache's TTL.
func TestVersionsNeverGoBack(t *testing.T) {
	rdb := redistest.New(t)
	alice := syntax.DID("did:plc:alice")
	s := coherenceStore(rdb, "a")
	ctx := t.Context()
	var before int64
	for range 5 {
		before = s.indexChanged(ctx, alice, indexChange{DropTag: "app:v1"})
	}
	unlinkBefore, err := s.bumpUnlinkVersion(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.FlushDB(ctx).Err(); err != nil { // Redis restarted, empty
		t.Fatal(err)
	}
	read, ok := s.indexVersion(ctx, alice)
	if !ok || read < before {
		t.Fatalf("version read after the restart: %d (ok %v); the last one before it was %d", read, ok, before)
	}
	after := s.indexChanged(ctx, alice, indexChange{DropTag: "app:v1"})
	if after != read+1 {
		t.Fatalf("first write after the restart: version %d, want the one read plus one, %d", after, read+1)
	}
	unlinkAfter, err := s.bumpUnlinkVersion(ctx, alice)
	if err != nil || unlinkAfter <= unlinkBefore {
		t.Fatalf("unlink version after the restart %d (%v), before it %d", unlinkAfter, err, unlinkBefore)
	}
	if ttl, err := rdb.TTL(ctx, indexVersionKey+alice.String()).Result(); err != nil || ttl <= 0 || ttl > indexVersionTTL {
		t.Fatalf("version TTL %v (%v), want at most %v", ttl, err, indexVersionTTL)
	}
}
