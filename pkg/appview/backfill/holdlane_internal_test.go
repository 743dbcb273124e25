package backfill

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"atcr.io/internal/testclock"
)

// TestHoldsNamedByManifestsHaveTheirOwnLane: holds an account's manifests
// name (any DIDs it likes) wait in their own queue with their own worker,
// so a flood of hanging holds never delays a new account's backfill; and
// one account gets HoldsPerAccount of them scheduled per hour.
func TestHoldsNamedByManifestsHaveTheirOwnLane(t *testing.T) {
	clk := testclock.New(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	release := make(chan struct{})
	var mu sync.Mutex
	var ran []string
	done := make(chan string, 16)
	account := func(ctx context.Context, did string) error {
		mu.Lock()
		ran = append(ran, did)
		mu.Unlock()
		if strings.HasPrefix(did, "did:web:") {
			select { // a hold that hangs until released
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		done <- did
		return nil
	}
	s := newScheduler(account, SchedulerOptions{Workers: 1, Queue: 1, HoldWorkers: 1, HoldQueue: 2, HoldsPerAccount: 3, Now: clk.Now})
	s.Start(t.Context())
	t.Cleanup(s.Close)

	const evil, alice, carol = "did:plc:evil", "did:plc:alice", "did:plc:carol"
	s.NoticeHold("did:web:h1.example", evil, true)
	for { // h1 runs (and hangs)
		mu.Lock()
		n := len(ran)
		mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	s.NoticeHold("did:web:h2.example", evil, true) // h2 and h3 wait
	s.NoticeHold("did:web:h3.example", evil, true)
	s.NoticeHold("did:web:h4.example", evil, true) // evil's fourth this hour
	if st := s.Stats(); st.Scheduled != 3 || st.OverBudget != 1 || st.Dropped != 0 {
		t.Fatalf("after four holds of one account: %+v", st)
	}
	s.NoticeHold("did:web:h5.example", alice, true) // the hold lane is full
	if st := s.Stats(); st.Dropped != 1 || st.Scheduled != 3 {
		t.Fatalf("a hold beyond the hold queue: %+v", st)
	}

	// A new account is backfilled at once, holds hanging or not.
	s.Notice(carol, true)
	select {
	case did := <-done:
		if did != carol {
			t.Fatalf("%s finished first", did)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a new account waited for the holds' lane")
	}

	close(release)
	if err := s.Idle(t.Context()); err != nil {
		t.Fatal(err)
	}
	// An hour on, evil's budget is back: h4, still without rows in the
	// index, is first seen again at its next mention and scheduled.
	clk.Advance(holdBudgetWindow)
	s.NoticeHold("did:web:h4.example", evil, true)
	if err := s.Idle(t.Context()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(strings.Join(ran, " "), "did:web:h4.example") || len(ran) != 5 {
		t.Fatalf("ran %v, want h1-h3, carol, then h4", ran)
	}
}

// Naming someone else's account as a hold does not hold that account's own
// backfill back: over the namer's budget nothing is remembered of it, and a
// DID whose backfill failed in the holds' lane is an account as soon as it
// writes, its backoff ignored.
func TestNamingAnAccountAsAHoldDoesNotDelayIt(t *testing.T) {
	clk := testclock.New(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	var mu sync.Mutex
	runs := map[string]int{}
	fail := map[string]bool{"did:plc:erin": true}
	account := func(_ context.Context, did string) error {
		mu.Lock()
		defer mu.Unlock()
		runs[did]++
		if fail[did] {
			return errors.New("not reachable as a hold")
		}
		return nil
	}
	s := newScheduler(account, SchedulerOptions{HoldsPerAccount: 1, Now: clk.Now})
	s.Start(t.Context())
	t.Cleanup(s.Close)
	idle := func() {
		t.Helper()
		if err := s.Idle(t.Context()); err != nil {
			t.Fatal(err)
		}
	}

	// mallory's budget goes to erin, whose backfill then fails in the
	// holds' lane (an account's DID is no hold); fred comes over budget.
	s.NoticeHold("did:plc:erin", "did:plc:mallory", true)
	idle()
	s.NoticeHold("did:plc:fred", "did:plc:mallory", true)
	if st := s.Stats(); st.OverBudget != 1 || st.Retrying != 1 {
		t.Fatalf("after naming: %+v", st)
	}
	// Both write their first records: both are backfilled at once.
	mu.Lock()
	fail["did:plc:erin"] = false
	mu.Unlock()
	s.Notice("did:plc:erin", false) // the sink saw it before, as a hold
	s.Notice("did:plc:fred", true)
	idle()
	mu.Lock()
	defer mu.Unlock()
	if runs["did:plc:erin"] != 2 || runs["did:plc:fred"] != 1 {
		t.Fatalf("runs %v, want erin twice (as a hold, then as an account) and fred once", runs)
	}
}
