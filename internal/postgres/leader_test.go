package postgres_test

import (
	"context"
	"database/sql"
	"os"
	"testing"
	"time"

	"atcr.io/internal/pgtest"
	"atcr.io/internal/postgres"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// leaderProcess is one AppView's leader loop over its own pool.
type leaderProcess struct {
	pool    *sql.DB
	cancel  context.CancelFunc
	started chan struct{} // fn began: this process leads
	stopped chan struct{} // fn's context ended
	done    chan struct{} // Run returned
}

func startLeader(t *testing.T, url string, retry time.Duration) *leaderProcess {
	t.Helper()
	pool, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	p := &leaderProcess{pool: pool, cancel: cancel, started: make(chan struct{}, 10), stopped: make(chan struct{}, 10), done: make(chan struct{})}
	l := postgres.Leader{DB: pool, Key: 42, Name: "test", Retry: retry, Check: 20 * time.Millisecond}
	go func() {
		defer close(p.done)
		l.Run(ctx, func(ctx context.Context) {
			p.started <- struct{}{}
			<-ctx.Done()
			p.stopped <- struct{}{}
		})
	}()
	t.Cleanup(func() { cancel(); <-p.done })
	return p
}

// wait returns whether ch delivers before the test's own patience runs
// out (a bound against hanging, not a timing assertion).
func wait(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-time.After(30 * time.Second):
		return false
	}
}

// One of two processes leads; when its session dies (the server ends
// the backend, as when the AppView's machine goes away), the other takes
// over; when a leader stops cleanly (shutdown), a newcomer takes over.
func TestLeaderFailover(t *testing.T) {
	url := pgtest.URL(t)
	// a, once it has lost the lock, does not try again within the test, so
	// who leads next is never a race between a and b.
	a := startLeader(t, url, time.Hour)
	if !wait(a.started) {
		t.Fatal("the only process never led")
	}
	b := startLeader(t, url, 20*time.Millisecond)
	admin, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var holders int
	if err := admin.QueryRow(`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted`).Scan(&holders); err != nil {
		t.Fatal(err)
	}
	if holders != 1 {
		t.Fatalf("%d advisory locks held, want 1", holders)
	}
	select {
	case <-b.started:
		t.Fatal("two leaders at once")
	default:
	}

	// a's backend dies: a notices at its next ping and stops; b leads.
	if _, err := admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted`); err != nil {
		t.Fatal(err)
	}
	if !wait(a.stopped) {
		t.Fatal("the leader whose session died kept running")
	}
	if !wait(b.started) {
		t.Fatal("the other process did not take over")
	}

	// b stops cleanly: its lock goes with its connection (it is not left
	// in b's pool), and a newcomer leads.
	b.cancel()
	<-b.done
	c := startLeader(t, url, 20*time.Millisecond)
	if !wait(c.started) {
		t.Fatal("nobody took over after a clean stop")
	}
}
