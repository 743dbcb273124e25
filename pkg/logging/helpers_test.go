package logging

import (
	"atcr.io/internal/syncbuf"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct{ syncbuf.Buffer }

// lines returns every log line written so far, parsed.
func (b *syncBuffer) lines(t *testing.T) []logLine {
	t.Helper()
	text := b.String()
	var out []logLine
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if l != "" {
			out = append(out, parseTextLine(t, l))
		}
	}
	return out
}

// logLine is one text-handler line as key=value pairs, in order.
type logLine []string

// without returns the line minus the given keys, as "k=v" strings.
func (l logLine) without(keys ...string) string {
	var kept []string
	for _, kv := range l {
		k, _, _ := strings.Cut(kv, "=")
		if !contains(keys, k) {
			kept = append(kept, kv)
		}
	}
	return strings.Join(kept, " ")
}

func (l logLine) get(key string) string {
	for _, kv := range l {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// parseTextLine splits a slog text line into k=v pairs, unquoting values.
func parseTextLine(t *testing.T, line string) logLine {
	t.Helper()
	var out logLine
	rest := line
	for rest != "" {
		k, after, ok := strings.Cut(rest, "=")
		if !ok {
			t.Fatalf("no key=value in %q", rest)
		}
		var v string
		if strings.HasPrefix(after, `"`) {
			q, err := strconv.QuotedPrefix(after)
			if err != nil {
				t.Fatalf("bad quoting in %q: %v", line, err)
			}
			v, _ = strconv.Unquote(q)
			after = after[len(q):]
		} else {
			v, after, _ = strings.Cut(after, " ")
			after = " " + after
		}
		out = append(out, k+"="+v)
		rest = strings.TrimPrefix(after, " ")
	}
	return out
}

// fakeClock fires AfterFunc callbacks only when the test advances it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	clock   *fakeClock
	at      time.Time
	f       func()
	stopped bool
	fired   bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Stopper {
	c.mu.Lock()
	defer c.mu.Unlock()
	tm := &fakeTimer{clock: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, tm)
	return tm
}

func (tm *fakeTimer) Stop() bool {
	tm.clock.mu.Lock()
	defer tm.clock.mu.Unlock()
	if tm.stopped || tm.fired {
		return false
	}
	tm.stopped = true
	return true
}

// Advance moves time forward and runs the callbacks that became due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	for _, tm := range c.timers {
		if !tm.stopped && !tm.fired && !tm.at.After(c.now) {
			tm.fired = true
			due = append(due, tm.f)
		}
	}
	c.mu.Unlock()
	for _, f := range due {
		f()
	}
}

// pending counts timers neither stopped nor fired.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, tm := range c.timers {
		if !tm.stopped && !tm.fired {
			n++
		}
	}
	return n
}

// all returns every timer ever created.
func (c *fakeClock) all() []*fakeTimer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*fakeTimer(nil), c.timers...)
}
