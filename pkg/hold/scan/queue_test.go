package scan

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestEnqueueDeduplicatesByDigest(t *testing.T) {
	e := newEnv(t)
	job := testJob(alice, 1)
	if !e.enqueue(t, job) {
		t.Fatal("first Enqueue did not queue")
	}
	other := job
	other.Owner, other.Manifest = bob, strings.Replace(job.Manifest, alice, bob, 1)
	if e.enqueue(t, job) || e.enqueue(t, other) {
		t.Fatal("a digest already queued was queued again")
	}
	claimed := e.mustClaim(t, "w1")
	if _, ok := e.claimNow(t, "w2"); ok {
		t.Fatal("one digest was handed out twice")
	}
	if e.enqueue(t, job) {
		t.Fatal("a digest being scanned was queued again")
	}
	if err := e.q.Finish(t.Context(), "w1", claimed.ID, Result{Status: StatusSkipped, Reason: "test"}); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if !e.enqueue(t, job) {
		t.Fatal("a finished digest was not queued for a rescan")
	}
	rescan := e.mustClaim(t, "w1")
	if rescan.ID <= claimed.ID {
		t.Errorf("rescan job ID %d, want more than %d (IDs only grow: they are the subscription cursor)", rescan.ID, claimed.ID)
	}
	if rescan.Attempt != 1 || rescan.Image.Digest != job.Image.Digest || len(rescan.Image.Layers) != 1 {
		t.Errorf("rescan job = %+v", rescan)
	}
}

func TestRestartReissuesLeasedJob(t *testing.T) {
	e := newEnv(t)
	job := testJob(alice, 2)
	e.enqueue(t, job)
	leased := e.mustClaim(t, "w1")
	e.reopen(t) // the hold died mid-scan

	if st := e.state(t, job.Image.Digest); st.State != StateQueued || st.Attempt != 2 {
		t.Errorf("after restart state = %+v, want queued, attempt 2", st)
	}
	again := e.mustClaim(t, "w2")
	if again.ID != leased.ID || again.Attempt != 2 {
		t.Fatalf("after restart got job %d attempt %d, want job %d attempt 2", again.ID, again.Attempt, leased.ID)
	}
	if err := e.q.Finish(t.Context(), "w1", leased.ID, Result{Status: StatusSkipped}); !errors.Is(err, ErrNotLeased) {
		t.Errorf("Finish by the dead worker: %v, want ErrNotLeased", err)
	}
	if err := e.q.Finish(t.Context(), "w2", again.ID, Result{Status: StatusSkipped, Reason: "done"}); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if rec := e.mustRecord(t, job.Image.Digest); rec.Status != "skipped" || rec.StatusReason != "done" {
		t.Errorf("record = %+v", rec)
	}
}

func TestFailedAttemptsBackOffThenFail(t *testing.T) {
	e := newEnv(t)
	job := testJob(alice, 3)
	e.enqueue(t, job)
	for attempt, wait := 1, time.Minute; attempt <= 3; attempt, wait = attempt+1, wait*2 {
		j := e.mustClaim(t, "w1")
		if j.Attempt != attempt {
			t.Fatalf("attempt %d, want %d", j.Attempt, attempt)
		}
		if err := e.q.Fail(t.Context(), "w1", j.ID, "storage unreachable"); err != nil {
			t.Fatalf("Fail: %v", err)
		}
		if attempt == 3 {
			break
		}
		if _, ok := e.claimNow(t, "w1"); ok {
			t.Fatalf("attempt %d retried before its backoff", attempt)
		}
		if _, _, next, _ := e.q.tryClaim(t.Context(), "w1"); !next.Equal(e.clock.Now().Add(wait)) {
			t.Errorf("after attempt %d next due %s, want %s (backoff %s)", attempt, next, e.clock.Now().Add(wait), wait)
		}
		e.clock.Advance(wait - time.Second)
		if _, ok := e.claimNow(t, "w1"); ok {
			t.Fatalf("attempt %d retried a second early", attempt)
		}
		e.clock.Advance(time.Second)
	}
	if _, ok := e.claimNow(t, "w1"); ok {
		t.Fatal("a job out of attempts was handed out")
	}
	rec := e.mustRecord(t, job.Image.Digest)
	if rec.Status != "failed" || !strings.Contains(rec.StatusReason, "3 attempts") || !strings.Contains(rec.StatusReason, "storage unreachable") {
		t.Errorf("record status %q reason %q, want failed naming the attempts and the last error", rec.Status, rec.StatusReason)
	}
	if rec.Manifest != job.Manifest || rec.UserDID != alice || rec.Repository != "app" {
		t.Errorf("record names %s %s %s", rec.Manifest, rec.UserDID, rec.Repository)
	}
	if st := e.state(t, job.Image.Digest); st.State != StateNone {
		t.Errorf("state after failure = %+v, want none", st)
	}
}

func TestExpiredLeaseIsRetried(t *testing.T) {
	e := newEnv(t)
	job := testJob(alice, 4)
	e.enqueue(t, job)
	j := e.mustClaim(t, "hung")
	e.clock.Advance(11*time.Minute - time.Second) // job timeout + margin, less a second
	if _, ok := e.claimNow(t, "w2"); ok {
		t.Fatal("a live lease was taken")
	}
	e.clock.Advance(time.Second)
	if _, ok := e.claimNow(t, "w2"); ok {
		t.Fatal("an expired lease was re-issued without backoff")
	}
	e.clock.Advance(time.Minute)
	again := e.mustClaim(t, "w2")
	if again.ID != j.ID || again.Attempt != 2 {
		t.Errorf("got job %d attempt %d, want %d attempt 2", again.ID, again.Attempt, j.ID)
	}
	if err := e.q.Finish(t.Context(), "hung", j.ID, Result{}); !errors.Is(err, ErrNotLeased) {
		t.Errorf("late Finish: %v, want ErrNotLeased", err)
	}
}

func TestReleaseDoesNotCountAnAttempt(t *testing.T) {
	e := newEnv(t)
	e.enqueue(t, testJob(alice, 5))
	j := e.mustClaim(t, "w1")
	if err := e.q.Release(t.Context(), "w2", j.ID); !errors.Is(err, ErrNotLeased) {
		t.Errorf("Release by another worker: %v", err)
	}
	if err := e.q.Release(t.Context(), "w1", j.ID); err != nil {
		t.Fatal(err)
	}
	if again := e.mustClaim(t, "w2"); again.Attempt != 1 {
		t.Errorf("attempt after release = %d, want 1", again.Attempt)
	}
}

func TestClaimWaitsForEnqueue(t *testing.T) {
	e := newEnv(t)
	got := make(chan Job, 1)
	go func() {
		j, err := e.q.Claim(t.Context(), "w1")
		if err != nil {
			t.Errorf("Claim: %v", err)
		}
		got <- j
	}()
	job := testJob(alice, 6)
	e.enqueue(t, job)
	if j := <-got; j.Image.Digest != job.Image.Digest {
		t.Errorf("claimed %s", j.Image.Digest)
	}
	// A retry falls due on the clock: Wake after moving it.
	_ = e.q.Fail(t.Context(), "w1", 1, "again")
	go func() {
		j, _ := e.q.Claim(t.Context(), "w1")
		got <- j
	}()
	e.clock.Advance(time.Minute)
	e.q.Wake()
	if j := <-got; j.Attempt != 2 {
		t.Errorf("retry attempt %d, want 2", j.Attempt)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := e.q.Claim(ctx, "w1"); !errors.Is(err, context.Canceled) {
		t.Errorf("Claim with an ended context: %v", err)
	}
}

// refusingRecords refuses to publish one digest.
type refusingRecords struct {
	Records
	bad string
}

func (r refusingRecords) Publish(ctx context.Context, job Job, res Result) error {
	if job.Image.Digest.String() == r.bad {
		return errors.New("repository refused the record")
	}
	return r.Records.Publish(ctx, job, res)
}

func TestAJobThatCannotBePublishedDoesNotBlockTheQueue(t *testing.T) {
	e := newEnv(t)
	poison, next := testJob(alice, 7), testJob(alice, 8)
	e.opts.Records = refusingRecords{Records: e.pub, bad: poison.Image.Digest.String()}
	e.opts.MaxAttempts = 1
	e.reopen(t)
	e.enqueue(t, poison)
	j := e.mustClaim(t, "w1")
	if err := e.q.Finish(t.Context(), "w1", j.ID, Result{Status: StatusSkipped}); err == nil {
		t.Fatal("Finish reported success for a record the repository refused")
	}
	e.enqueue(t, next)
	// The poison job is out of attempts and its failure cannot be
	// recorded either: it is postponed, and the next job is handed out.
	if got := e.mustClaim(t, "w1"); got.Image.Digest != next.Image.Digest {
		t.Fatalf("claimed %s, want the job behind the poison one", got.Image.Digest)
	}
	if st := e.state(t, poison.Image.Digest); st.State != StateQueued {
		t.Errorf("poison job state %+v, want queued for a later try", st)
	}
}
