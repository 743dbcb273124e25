package index

import (
	"atcr.io/pkg/appview/db/dbtest"
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"atcr.io/pkg/appview/db"
)

func TestCountersAreBatched(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		e.put(t, rec(t, alice, tid(1), imageManifest("app", 1, time.Hour)), rec(t, bob, tid(2), imageManifest("tool", 2, time.Hour)))
		for range 3 {
			e.store.CountPull(alice, "app")
		}
		e.store.CountPush(alice, "app")
		e.store.CountPull(bob, "tool")
		// Nothing is written before a flush: the caller's path does no I/O.
		if n := e.count(t, "repository_stats"); n != 0 {
			t.Fatalf("%d stats rows before the flush", n)
		}
		if err := e.store.Flush(e.ctx); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
		e.store.CountPull(alice, "app")
		if err := e.store.Flush(e.ctx); err != nil {
			t.Fatal(err)
		}
		page, err := e.store.RepositoryPage(e.ctx, alice, "app")
		if err != nil {
			t.Fatal(err)
		}
		if page.Pulls != 4 || page.Pushes != 1 || !page.LastPull.Equal(e.clock.Now().Truncate(time.Second)) ||
			!page.LastPush.Equal(e.clock.Now().Add(-time.Minute).Truncate(time.Second)) {
			t.Errorf("page counters = pulls %d pushes %d last pull %v last push %v", page.Pulls, page.Pushes, page.LastPull, page.LastPush)
		}
		top, _, err := e.store.MostPulled(e.ctx, Page{})
		if err != nil || len(top) != 2 || top[0].Repository != "app" || top[0].Pulls != 4 || top[1].Repository != "tool" {
			t.Errorf("MostPulled = %+v %v", top, err)
		}
		// Garbage never reaches the map.
		e.store.CountPull("", "app")
		e.store.CountPull(alice, "")
		if err := e.store.Flush(e.ctx); err != nil {
			t.Fatal(err)
		}
		if n := e.count(t, "repository_stats"); n != 2 {
			t.Errorf("%d stats rows, want 2", n)
		}
	})
}

// The event threshold starts a flush without waiting for the interval.
func TestCountersFlushAtThreshold(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		ctx := context.Background()
		d := dbtest.Open(t, engine)
		defer d.Close()
		s := New(d, Options{FlushInterval: time.Hour, FlushEvents: 5})
		defer s.Close(ctx)
		for range 5 {
			s.CountPull(alice, "app")
		}
		// The kick is buffered; the flusher takes it and writes. Wait for the
		// row with the flusher's own lock, not a timer: Flush serialises behind
		// a running flush, and the pending map is empty once it has begun.
		for {
			s.counters.flushMu.Lock()
			s.counters.mu.Lock()
			pending := s.counters.events
			s.counters.mu.Unlock()
			s.counters.flushMu.Unlock()
			if pending == 0 {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatal(ctx.Err())
			default:
				runtime.Gosched()
			}
		}
		var pulls int
		if err := d.SQL().QueryRow(`SELECT pull_count FROM repository_stats`).Scan(&pulls); err != nil || pulls != 5 {
			t.Errorf("pull_count = %d %v, want 5 written by the threshold flush", pulls, err)
		}
	})
}

// Close writes what is pending.
func TestCloseFlushes(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		ctx := context.Background()
		d := dbtest.Open(t, engine)
		defer d.Close()
		s := New(d, Options{FlushInterval: time.Hour})
		s.CountPush(alice, "app")
		s.CountPull(alice, "app")
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(ctx); err != nil {
			t.Errorf("second Close: %v", err)
		}
		var pulls, pushes int
		if err := d.SQL().QueryRow(`SELECT pull_count, push_count FROM repository_stats`).Scan(&pulls, &pushes); err != nil || pulls != 1 || pushes != 1 {
			t.Errorf("after Close: pulls %d pushes %d %v", pulls, pushes, err)
		}
	})
}

// A failed flush keeps the counts for the next one.
func TestFailedFlushKeepsCounts(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		e.store.CountPull(alice, "app")
		if _, err := e.db.SQL().Exec(`ALTER TABLE repository_stats RENAME TO stats_away`); err != nil {
			t.Fatal(err)
		}
		if err := e.store.Flush(e.ctx); err == nil {
			t.Fatal("flush into a missing table succeeded")
		}
		e.store.CountPull(alice, "app")
		if _, err := e.db.SQL().Exec(`ALTER TABLE stats_away RENAME TO repository_stats`); err != nil {
			t.Fatal(err)
		}
		if err := e.store.Flush(e.ctx); err != nil {
			t.Fatal(err)
		}
		var pulls int
		if err := e.db.SQL().QueryRow(`SELECT pull_count FROM repository_stats`).Scan(&pulls); err != nil || pulls != 2 {
			t.Errorf("pull_count = %d %v, want 2", pulls, err)
		}
	})
}

// Concurrent pulls while the flusher writes lose no count.
func TestConcurrentCountsAreAllWritten(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		ctx := context.Background()
		d := dbtest.Open(t, engine)
		defer d.Close()
		s := New(d, Options{FlushInterval: time.Hour, FlushEvents: 100})
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 1000 {
					s.CountPull(alice, "app")
				}
			}()
		}
		wg.Wait()
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		var pulls int
		if err := d.SQL().QueryRow(`SELECT pull_count FROM repository_stats`).Scan(&pulls); err != nil || pulls != 8000 {
			t.Errorf("pull_count = %d %v, want 8000", pulls, err)
		}
	})
}
