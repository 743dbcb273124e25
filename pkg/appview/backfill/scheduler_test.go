package backfill_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/internal/testclock"
	"atcr.io/pkg/appview/backfill"
	"atcr.io/pkg/appview/index"
	"atcr.io/pkg/appview/jetstream"
	"atcr.io/pkg/atproto/atcr"
)

// crewCommit writes a crew record into the fixture's repository and
// returns the Jetstream commit that would carry it.
func (f *fixture) crewCommit(t *testing.T, timeUS int64) jetstream.Commit {
	t.Helper()
	rkey := f.repo.NextTID().String()
	m, err := atcr.ToMap(&atcr.HoldCrew{Member: member, Role: "member", Permissions: []string{"blob:read"}, AddedAt: "2026-11-01T00:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	_, cid, err := f.repo.PutRecord(context.Background(), atcr.HoldCrewNSID, syntax.RecordKey(rkey), m)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return jetstream.Commit{DID: f.repo.DID().String(), Collection: atcr.HoldCrewNSID, RKey: rkey, Operation: jetstream.OpCreate,
		CID: cid, Record: raw, TimeUS: timeUS}
}

// firstSeen is the fixture with the real Jetstream sink reporting to a
// real scheduler of real backfills.
type firstSeen struct {
	*fixture
	sink  *index.JetstreamSink
	sched *backfill.Scheduler
	clock *testclock.Clock
}

func newFirstSeen(t *testing.T, opts backfill.SchedulerOptions) *firstSeen {
	t.Helper()
	f := &firstSeen{fixture: newFixture(t), clock: testclock.New(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))}
	opts.Now = f.clock.Now
	f.sched = backfill.NewScheduler(f.bf, opts)
	f.sched.Start(t.Context())
	t.Cleanup(f.sched.Close)
	f.sink = index.NewJetstreamSink(f.idx, index.SinkOptions{Window: time.Hour, DIDs: f.sched})
	return f
}

// event hands the sink one commit, writes its batch and waits for the
// backfills it caused.
func (f *firstSeen) event(t *testing.T, c jetstream.Commit) {
	t.Helper()
	if err := f.sink.HandleCommit(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if err := f.sink.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := f.sched.Idle(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func (f *firstSeen) captainIndexed(t *testing.T) bool {
	t.Helper()
	_, err := f.idx.Captain(context.Background(), f.repo.DID().String())
	return err == nil
}

// The first event of a repository the index has never seen brings in its
// whole repository, verified (the captain record never came through
// Jetstream); later events do not read it again.
func TestFirstSeenRepositoryIsBackfilled(t *testing.T) {
	f := newFirstSeen(t, backfill.SchedulerOptions{})
	f.write(t, atcr.HoldCaptainNSID, "self", &atcr.HoldCaptain{Owner: member, DeployedAt: "2026-11-01T00:00:00Z", Public: true})
	f.event(t, f.crewCommit(t, 1))
	if !f.captainIndexed(t) || f.fetches.Load() != 1 {
		t.Fatalf("after the first event: captain indexed %v, %d getRepo", f.captainIndexed(t), f.fetches.Load())
	}
	f.event(t, f.crewCommit(t, 2))
	if n := f.fetches.Load(); n != 1 {
		t.Errorf("%d getRepo after a second event, want 1", n)
	}
	crew, err := f.idx.Crew(context.Background(), f.repo.DID().String())
	if err != nil || len(crew) != 2 {
		t.Errorf("crew %+v %v", crew, err)
	}
	if s := f.sched.Stats(); s.Scheduled != 1 || s.Succeeded != 1 || s.Failed != 0 || s.Waiting != 0 {
		t.Errorf("stats %+v", s)
	}
}

// A backfill that fails is tried again at the repository's next event
// once its backoff has passed, not before.
func TestFirstSeenBackfillIsRetriedAfterItsBackoff(t *testing.T) {
	f := newFirstSeen(t, backfill.SchedulerOptions{RetryAfter: time.Minute})
	f.write(t, atcr.HoldCaptainNSID, "self", &atcr.HoldCaptain{Owner: member, DeployedAt: "2026-11-01T00:00:00Z", Public: true})
	f.down.Store(true)
	f.event(t, f.crewCommit(t, 1))
	if f.captainIndexed(t) || f.fetches.Load() != 1 || f.sched.Stats().Failed != 1 {
		t.Fatalf("with the PDS down: captain %v, %d getRepo, %+v", f.captainIndexed(t), f.fetches.Load(), f.sched.Stats())
	}
	f.down.Store(false)
	f.event(t, f.crewCommit(t, 2))
	if n := f.fetches.Load(); n != 1 {
		t.Fatalf("tried again before the backoff: %d getRepo", n)
	}
	f.clock.Advance(time.Minute)
	f.event(t, f.crewCommit(t, 3))
	if !f.captainIndexed(t) || f.fetches.Load() != 2 {
		t.Fatalf("after the backoff: captain %v, %d getRepo", f.captainIndexed(t), f.fetches.Load())
	}
	if s := f.sched.Stats(); s.Succeeded != 1 || s.Retrying != 0 {
		t.Errorf("stats %+v", s)
	}
}

// One DID at a time, a bounded queue, and Notice never waits: what does
// not fit is tried at its next event after the backoff.
func TestSchedulerIsBoundedAndDeduplicated(t *testing.T) {
	f := newFirstSeen(t, backfill.SchedulerOptions{Workers: 1, Queue: 1, RetryAfter: time.Minute})
	stall := make(chan struct{})
	f.stall.Store(&stall)
	hold := f.repo.DID().String()
	const other, third = "did:plc:other22222222222222222", "did:plc:third22222222222222222"
	f.sched.Notice(hold, true)
	for f.fetches.Load() == 0 { // the worker is in getRepo
		time.Sleep(time.Millisecond)
	}
	f.sched.Notice(hold, true)  // running: not again
	f.sched.Notice(other, true) // queued
	f.sched.Notice(third, true) // no room: dropped, remembered
	if s := f.sched.Stats(); s.Scheduled != 2 || s.Dropped != 1 || s.Waiting != 2 || s.Retrying != 1 {
		t.Fatalf("while stalled: %+v", s)
	}
	close(stall)
	if err := f.sched.Idle(t.Context()); err != nil {
		t.Fatal(err)
	}
	// other's identity is unknown: it failed; hold succeeded.
	if s := f.sched.Stats(); s.Succeeded != 1 || s.Failed != 1 || s.Retrying != 2 || f.fetches.Load() != 1 {
		t.Fatalf("after: %+v, %d getRepo", s, f.fetches.Load())
	}
	f.sched.Notice(third, false)
	if s := f.sched.Stats(); s.Scheduled != 2 {
		t.Fatalf("a dropped DID was tried before its backoff: %+v", s)
	}
	f.clock.Advance(time.Minute)
	f.sched.Notice(third, false)
	if err := f.sched.Idle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s := f.sched.Stats(); s.Scheduled != 3 || s.Failed != 2 {
		t.Fatalf("after the backoff: %+v", s)
	}
}
