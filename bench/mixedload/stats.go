package main

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// maxErrorTexts is how many error texts each operation keeps.
const maxErrorTexts = 5

// opStats is one operation's tally over a run.
type opStats struct {
	latencies []time.Duration // operations that completed inside the measured window
	total     int             // every completed operation, warm-up and tail included (CPU cost denominator)
	errors    int
	retried   int // attempts that failed like a restart does and were retried
	errTexts  []string
	retryAt   []time.Duration // since the start, for each retried attempt
	lastErrAt time.Duration   // since the start, the last failure
	retryText []string
}

// tally collects every worker's results; workers lock it once per operation.
type tally struct {
	mu    sync.Mutex
	start time.Time
	ops   map[string]*opStats
}

func newTally(start time.Time) *tally {
	t := &tally{start: start, ops: map[string]*opStats{}}
	for _, op := range allOps {
		t.ops[op] = &opStats{}
	}
	t.ops[opVerify] = &opStats{}
	return t
}

func (t *tally) ok(op string, lat time.Duration, inWindow bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.ops[op]
	s.total++
	if inWindow {
		s.latencies = append(s.latencies, lat)
	}
}

func (t *tally) fail(op string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.ops[op]
	s.errors++
	s.lastErrAt = time.Since(t.start)
	if len(s.errTexts) < maxErrorTexts {
		s.errTexts = append(s.errTexts, fmt.Sprintf("%s at +%.1fs: %v", op, time.Since(t.start).Seconds(), err))
	}
}

func (t *tally) retry(op string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.ops[op]
	s.retried++
	s.retryAt = append(s.retryAt, time.Since(t.start))
	if len(s.retryText) < maxErrorTexts {
		s.retryText = append(s.retryText, fmt.Sprintf("%s at +%.1fs: %v", op, time.Since(t.start).Seconds(), err))
	}
}

// OpResult is one operation's line of the report.
type OpResult struct {
	Op                    string
	Count, Total          int
	PerSecond             float64
	P50, P99, Max         time.Duration
	Errors, Retried       int
	ErrorTexts            []string
	RetryTexts            []string
	FirstRetry, LastRetry time.Duration
	LastError             time.Duration
}

func (t *tally) results(window time.Duration) []OpResult {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []OpResult
	for _, op := range append(slices.Clone(allOps), opVerify) {
		s := t.ops[op]
		if s.total == 0 && s.errors == 0 && s.retried == 0 {
			continue
		}
		r := OpResult{Op: op, Count: len(s.latencies), Total: s.total, Errors: s.errors, Retried: s.retried,
			ErrorTexts: s.errTexts, RetryTexts: s.retryText, LastError: s.lastErrAt}
		if op != opVerify && window > 0 {
			r.PerSecond = float64(r.Count) / window.Seconds()
		}
		if n := len(s.latencies); n > 0 {
			lat := slices.Clone(s.latencies)
			slices.Sort(lat)
			r.P50, r.P99, r.Max = lat[n/2], lat[(n*99)/100], lat[n-1]
		}
		if len(s.retryAt) > 0 {
			r.FirstRetry, r.LastRetry = slices.Min(s.retryAt), slices.Max(s.retryAt)
		}
		out = append(out, r)
	}
	return out
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }
