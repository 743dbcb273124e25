package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"atcr.io/internal/testclock"
)

func TestConsumerAppliesEventsInOrder(t *testing.T) {
	f := newFakeJetstream(t)
	h := newRecorder()
	cs := newMemCursors(t, h, 0)
	c, stop := start(t, Options{URL: f.url()}, h, cs)

	conn := f.next(t)
	if got := conn.query["wantedCollections"]; !slices.Equal(got, DefaultCollections) {
		t.Errorf("wantedCollections %v, want %v", got, DefaultCollections)
	}
	if conn.query.Has("cursor") {
		t.Errorf("no saved cursor, yet the consumer asked for cursor %q", conn.query.Get("cursor"))
	}
	conn.send(t,
		manifestMsg("m1", base+1),
		`{"did":`, // malformed JSON
		identityMsg(base+2),
		commitMsg(OpCreate, "com.example.noise", "n1", base+3), // not a wanted collection
		commitMsg(OpUpdate, "io.atcr.tag", "latest", base+4),
		accountMsg(base+5),
		fmt.Sprintf(`{"did":%q,"time_us":%d,"kind":"future-kind"}`, testDID, base+6),
		strings.Replace(manifestMsg("m2", base+7), `"rkey":"m2"`, `"rkey":"bad/key"`, 1),
		commitMsg(OpDelete, "io.atcr.manifest", "m1", base+8),
	)

	create := h.nextCommit(t)
	update := h.nextCommit(t)
	del := h.nextCommit(t)
	if create.Operation != OpCreate || create.Collection != "io.atcr.manifest" || create.RKey != "m1" || create.DID != testDID ||
		create.CID != testCID || create.Rev != "3n3af75asi22q" || create.TimeUS != base+1 {
		t.Errorf("create = %+v", create)
	}
	var rec map[string]any
	if err := json.Unmarshal(create.Record, &rec); err != nil || rec["$type"] != "io.atcr.manifest" {
		t.Errorf("create record %s (%v)", create.Record, err)
	}
	if update.Operation != OpUpdate || update.Collection != "io.atcr.tag" || update.RKey != "latest" {
		t.Errorf("update = %+v", update)
	}
	if del.Operation != OpDelete || del.RKey != "m1" || del.Record != nil || del.CID != "" || del.TimeUS != base+8 {
		t.Errorf("delete = %+v", del)
	}
	if id := <-h.identities; id.Handle != "alice.test" || id.DID != testDID || id.TimeUS != base+2 {
		t.Errorf("identity = %+v", id)
	}
	if a := <-h.accounts; a.Active || a.Status != "deactivated" || a.TimeUS != base+5 {
		t.Errorf("account = %+v", a)
	}

	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := cs.load(); got != base+8 {
		t.Errorf("saved cursor %d after shutdown, want the last applied event %d", got, base+8)
	}
	s := c.Stats()
	want := Stats{Events: 5, Commits: 3, Identities: 1, Accounts: 1, Invalid: 2, Ignored: 2, Cursor: base + 8, SavedCursor: base + 8}
	s.Lag = 0
	if s != want {
		t.Errorf("stats\n%+v, want\n%+v", s, want)
	}
}

func TestConsumerReconnectsFromTheCursorWithARewind(t *testing.T) {
	f := newFakeJetstream(t)
	h := newRecorder()
	saved := base + 100
	cs := newMemCursors(t, h, saved)
	h.maxApplied.Store(saved) // applied before this run
	var sl sleeps
	c, stop := start(t, Options{URL: f.url(), Rewind: 3 * time.Second, Sleep: sl.sleep, Jitter: func() float64 { return 0 }}, h, cs)

	first := f.next(t)
	if got, want := first.cursor(t), saved-3_000_000; got != want {
		t.Errorf("first connection asked for cursor %d, want saved cursor minus the rewind %d", got, want)
	}
	first.send(t, manifestMsg("a", base+101), manifestMsg("b", base+102))
	h.nextCommit(t)
	h.nextCommit(t)
	_ = first.ws.Close() // the server goes away

	second := f.next(t)
	if got, want := second.cursor(t), base+102-3_000_000; got != want {
		t.Errorf("reconnection asked for cursor %d, want %d", got, want)
	}
	// At-least-once: the rewind window comes again, then new events.
	second.send(t, manifestMsg("b", base+102), manifestMsg("c", base+103))
	if again := h.nextCommit(t); again.RKey != "b" {
		t.Errorf("got %q, want the replayed b", again.RKey)
	}
	if next := h.nextCommit(t); next.RKey != "c" {
		t.Errorf("got %q, want c", next.RKey)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.Reconnects != 1 || s.Cursor != base+103 || s.SavedCursor != base+103 {
		t.Errorf("stats %+v, want 1 reconnect and cursor %d saved", s, base+103)
	}
	if got := sl.all(); !slices.Equal(got, []time.Duration{500 * time.Millisecond}) {
		t.Errorf("backoff waits %v, want one of half the 1s minimum (jitter 0)", got)
	}
}

func TestConsumerBacksOffUntilTheServerAnswers(t *testing.T) {
	f := newFakeJetstream(t)
	f.refuse.Store(5)
	h := newRecorder()
	var sl sleeps
	c, stop := start(t, Options{URL: f.url(), MinBackoff: time.Second, MaxBackoff: 4 * time.Second, Sleep: sl.sleep, Jitter: func() float64 { return 0.5 }}, h, newMemCursors(t, h, 0))

	conn := f.next(t)
	conn.send(t, manifestMsg("a", base+1))
	h.nextCommit(t)
	want := []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second, 3 * time.Second, 3 * time.Second}
	if got := sl.all(); !slices.Equal(got, want) {
		t.Errorf("waits %v, want %v (doubling from 1s, capped at 4s, jitter 0.5 keeps 3/4)", got, want)
	}
	// Progress resets the backoff: the next failure waits the least again.
	_ = conn.ws.Close()
	f.next(t)
	if got := sl.all(); got[len(got)-1] != 750*time.Millisecond {
		t.Errorf("wait after a connection that made progress %v, want 750ms", got[len(got)-1])
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.Reconnects != 6 {
		t.Errorf("reconnects %d, want 6", s.Reconnects)
	}
}

func TestConsumerRetriesAFailedEventAndNeverSavesPastIt(t *testing.T) {
	f := newFakeJetstream(t)
	h := newRecorder()
	failed := false
	h.fail = func(_ context.Context, c Commit) error {
		if c.RKey == "c" && !failed {
			failed = true
			return errors.New("database is locked")
		}
		return nil
	}
	cs := newMemCursors(t, h, 0)
	var sl sleeps
	c, stop := start(t, Options{URL: f.url(), Sleep: sl.sleep}, h, cs)

	first := f.next(t)
	first.send(t, manifestMsg("a", base+1), manifestMsg("b", base+2), manifestMsg("c", base+3), manifestMsg("d", base+4))
	h.nextCommit(t)
	h.nextCommit(t)
	second := f.next(t) // the handler failed on c: the consumer dropped the connection
	if got, want := second.cursor(t), base+2-5_000_000; got != want {
		t.Errorf("after the failure the consumer asked for %d, want the last applied event minus the rewind %d", got, want)
	}
	second.send(t, manifestMsg("c", base+3), manifestMsg("d", base+4))
	if got := h.nextCommit(t); got.RKey != "c" {
		t.Errorf("got %q, want c again", got.RKey)
	}
	h.nextCommit(t)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.HandlerErrors != 1 || s.Reconnects != 1 || s.SavedCursor != base+4 {
		t.Errorf("stats %+v", s)
	}
}

func TestConsumerSkipsEventsTheHandlerRefuses(t *testing.T) {
	f := newFakeJetstream(t)
	h := newRecorder()
	h.fail = func(_ context.Context, c Commit) error {
		if c.RKey == "bad" {
			return fmt.Errorf("io.atcr.manifest %s: digest missing: %w", c.RKey, ErrInvalidRecord)
		}
		return nil
	}
	c, stop := start(t, Options{URL: f.url()}, h, newMemCursors(t, h, 0))
	conn := f.next(t)
	conn.send(t, manifestMsg("bad", base+1), manifestMsg("good", base+2))
	if got := h.nextCommit(t); got.RKey != "good" {
		t.Errorf("got %q, want good", got.RKey)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.Rejected != 1 || s.Reconnects != 0 || s.HandlerErrors != 0 || s.Cursor != base+2 {
		t.Errorf("stats %+v, want one rejected event and no reconnect", s)
	}
}

func TestConsumerDiscardsOversizedMessagesAndStaysConnected(t *testing.T) {
	f := newFakeJetstream(t)
	h := newRecorder()
	c, stop := start(t, Options{URL: f.url(), MaxMessageBytes: 1024}, h, newMemCursors(t, h, 0))
	conn := f.next(t)
	huge := strings.Replace(manifestMsg("huge", base+1), `"createdAt"`, `"padding":"`+strings.Repeat("x", 100_000)+`","createdAt"`, 1)
	conn.send(t, huge, manifestMsg("small", base+2))
	if got := h.nextCommit(t); got.RKey != "small" {
		t.Errorf("got %q, want small", got.RKey)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.Invalid != 1 || s.Reconnects != 0 {
		t.Errorf("stats %+v, want the huge message counted invalid on the same connection", s)
	}
}

// A handler that does not keep up stops the reader: the queue never holds
// more than its bounds, and nothing is lost once the handler resumes.
func TestConsumerBackpressure(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"by count", Options{QueueEvents: 3}},
		{"by bytes", Options{QueueEvents: 1000, MaxMessageBytes: 1024, QueueBytes: 1024}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeJetstream(t)
			h := newRecorder()
			release := make(chan struct{})
			h.fail = func(ctx context.Context, c Commit) error {
				if c.RKey == "e00" {
					<-release
				}
				return nil
			}
			opts := tc.opts
			opts.URL = f.url()
			opts.Logger = quietLogger()
			c, err := New(opts, h, newMemCursors(t, h, 0))
			if err != nil {
				t.Fatal(err)
			}
			waits := make(chan struct{}, 1)
			c.readerWaits = func() {
				select {
				case waits <- struct{}{}:
				default:
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- c.Run(ctx) }()
			defer func() { cancel(); <-done }()

			conn := f.next(t)
			const n = 50
			msgSize := len(manifestMsg("e00", base+1))
			for i := range n {
				conn.send(t, manifestMsg(fmt.Sprintf("e%02d", i), base+int64(i)+1))
			}
			select {
			case <-waits:
			case <-time.After(waitLimit):
				t.Fatal("the reader never waited for the blocked handler")
			}
			queued := c.Stats().Queued
			if tc.opts.QueueBytes > 0 {
				if bytes := queued * int64(msgSize); bytes > tc.opts.QueueBytes {
					t.Errorf("%d events (%d bytes) queued, over the %d byte bound", queued, bytes, tc.opts.QueueBytes)
				}
			} else if queued != int64(tc.opts.QueueEvents) {
				t.Errorf("%d events queued when the reader waits, want the queue full at its bound of %d", queued, tc.opts.QueueEvents)
			}
			close(release)
			for i := range n {
				if got := h.nextCommit(t); got.RKey != fmt.Sprintf("e%02d", i) {
					t.Fatalf("event %d is %q", i, got.RKey)
				}
			}
		})
	}
}

// Shutdown while the handler is stuck and the reader waits on a full
// queue: Run returns, and the saved cursor is the last event applied.
func TestConsumerStopsWhileBackpressured(t *testing.T) {
	f := newFakeJetstream(t)
	h := newRecorder()
	stuck := make(chan struct{})
	h.fail = func(ctx context.Context, c Commit) error {
		if c.RKey == "e03" {
			close(stuck)
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}
	cs := newMemCursors(t, h, 0)
	c, stop := start(t, Options{URL: f.url(), QueueEvents: 2}, h, cs)
	conn := f.next(t)
	for i := range 20 {
		conn.send(t, manifestMsg(fmt.Sprintf("e%02d", i), base+int64(i)))
	}
	<-stuck
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := cs.load(); got != base+2 {
		t.Errorf("saved cursor %d, want %d (e02, the last applied)", got, base+2)
	}
	if s := c.Stats(); s.HandlerErrors != 0 || s.Connected || s.Queued != 0 {
		t.Errorf("stats after shutdown %+v", s)
	}
}

func TestConsumerSavesTheCursorPeriodically(t *testing.T) {
	f := newFakeJetstream(t)
	h := newRecorder()
	cs := newMemCursors(t, h, 0)
	clock := testclock.New(time.Unix(1_795_000_000, 0))
	_, stop := start(t, Options{URL: f.url(), CursorSaveInterval: time.Hour, Now: clock.Now}, h, cs)
	conn := f.next(t)
	conn.send(t, manifestMsg("a", base+1), manifestMsg("b", base+2))
	h.nextCommit(t)
	h.nextCommit(t)
	clock.Advance(time.Hour)
	conn.send(t, manifestMsg("c", base+3))
	select {
	case got := <-cs.saved:
		// a's check ran before b was handled, with the clock not advanced:
		// a save then would be base+1. b's check may run after the advance
		// (it follows the handler), so base+2 is as right as base+3.
		if got != base+2 && got != base+3 {
			t.Errorf("first save %d, want %d or %d: nothing is saved before the interval passed", got, base+2, base+3)
		}
	case <-time.After(waitLimit):
		t.Fatal("no save after the interval passed")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestConsumerReportsLag(t *testing.T) {
	f := newFakeJetstream(t)
	h := newRecorder()
	clock := testclock.New(time.UnixMicro(base + 1).Add(1500 * time.Millisecond))
	c, stop := start(t, Options{URL: f.url(), Now: clock.Now}, h, newMemCursors(t, h, 0))
	f.next(t).send(t, manifestMsg("a", base+1))
	h.nextCommit(t)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := c.Stats().Lag; got != 1500*time.Millisecond {
		t.Errorf("lag %v, want 1.5s", got)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	h := newRecorder()
	cs := newMemCursors(t, h, 0)
	for _, o := range []Options{
		{},
		{URL: "http://jetstream.example"},
		{URL: "wss://"},
		{URL: "wss://jetstream.example/subscribe?wantedCollections=x"},
		{URL: "wss://jetstream.example", Collections: []string{"not an nsid"}},
	} {
		if _, err := New(o, h, cs); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
	if _, err := New(Options{URL: "wss://jetstream.example"}, nil, cs); err == nil {
		t.Error("New without a handler accepted")
	}
}
