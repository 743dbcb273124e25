//go:build stack

package jetstream_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"atcr.io/pkg/appview/jetstream"
	"atcr.io/test/stack/jetstreamtest"
)

// The AppView's Jetstream consumer against a real Jetstream v0.2.0 that
// follows the reference PDS: what alice writes with createRecord and
// deleteRecord reaches the handler, a consumer restarted from its saved
// cursor misses nothing written while it was down, and a replay of a few
// thousand records measures the consumer's rate with a handler that does
// nothing. Run alone with:
//
// It lives here, in the package's own tests, so that until the AppView
// uses the package no other package's tests import it (buildcheck's
// test-support rule). test/stack/e2e.sh (make e2e) runs it. Alone:
//
//	go test -tags stack -count=1 -v -run TestAgainstRealJetstream ./pkg/appview/jetstream/
func TestAgainstRealJetstream(t *testing.T) {
	pds := jetstreamtest.StartPDS(t)
	js := jetstreamtest.StartJetstream(t, pds)
	alice := pds.Login(t, 0)
	cursors := &memCursors{cur: time.Now().UnixMicro()} // from before the first write: no race with the live edge

	t.Run("create and delete reach the handler", func(t *testing.T) {
		h := newCollector()
		c, stop := runConsumer(t, js.URL, h, cursors)
		cid := alice.CreateRecord(t, "io.atcr.sailor.star", "3lstar0000001", starRecord())
		alice.CreateRecord(t, "com.example.noise", "3lnoise000001", map[string]any{"$type": "com.example.noise", "n": 1})
		got := h.await(t, js, "create of 3lstar0000001", func(c jetstream.Commit) bool { return c.RKey == "3lstar0000001" })
		if got.Operation != jetstream.OpCreate || got.DID != alice.DID || got.Collection != "io.atcr.sailor.star" || got.CID != cid ||
			!strings.Contains(string(got.Record), `"$type":"io.atcr.sailor.star"`) {
			t.Errorf("create = %+v (record %s), want alice's io.atcr.sailor.star with CID %s", got, got.Record, cid)
		}
		alice.DeleteRecord(t, "io.atcr.sailor.star", "3lstar0000001")
		del := h.await(t, js, "delete of 3lstar0000001", func(c jetstream.Commit) bool {
			return c.RKey == "3lstar0000001" && c.Operation == jetstream.OpDelete
		})
		if del.Collection != "io.atcr.sailor.star" || del.Record != nil {
			t.Errorf("delete = %+v", del)
		}
		stop()
		s := c.Stats()
		if s.Invalid != 0 || s.Ignored != 0 {
			t.Errorf("stats %+v: Jetstream sent events that were invalid or not asked for (com.example.noise must be filtered by the server)", s)
		}
		if cursors.load() < del.TimeUS {
			t.Errorf("saved cursor %d is before the last applied event %d", cursors.load(), del.TimeUS)
		}
	})

	t.Run("restart from the saved cursor leaves no gap", func(t *testing.T) {
		var written []string
		for i := range 5 {
			rk := fmt.Sprintf("3lgap00000%03d", i)
			alice.CreateRecord(t, "io.atcr.sailor.star", rk, starRecord())
			written = append(written, rk)
		}
		h := newCollector()
		_, stop := runConsumer(t, js.URL, h, cursors)
		defer stop()
		for _, rk := range written {
			h.await(t, js, "create of "+rk+" written while the consumer was down", func(c jetstream.Commit) bool {
				return c.RKey == rk && c.Operation == jetstream.OpCreate
			})
		}
	})

	t.Run("replay throughput", func(t *testing.T) {
		const n = 3000
		from := time.Now().UnixMicro()
		rkeys := make([]string, n)
		for i := range rkeys {
			rkeys[i] = fmt.Sprintf("3lbulk%07d", i)
		}
		alice.CreateRecords(t, "io.atcr.manifest", rkeys, func(rk string) map[string]any {
			return map[string]any{
				"$type": "io.atcr.manifest", "repository": "bench/app", "digest": "sha256:" + strings.Repeat("ab", 32),
				"mediaType": "application/vnd.oci.image.manifest.v1+json", "holdDid": "did:web:hold.example.com",
				"createdAt": time.Now().UTC().Format(time.RFC3339),
			}
		})
		h := &countingHandler{want: n, done: make(chan struct{})}
		start := time.Now()
		c, stop := runConsumer(t, js.URL, h, &memCursors{cur: from})
		defer stop()
		select {
		case <-h.done:
		case <-time.After(2 * time.Minute):
			t.Fatalf("%d of %d replayed records arrived (stats %+v)\n%s", h.n.Load(), n, c.Stats(), js.Log())
		}
		elapsed := time.Since(start)
		t.Logf("replayed %d io.atcr.manifest records from the cursor in %s: %.0f events/s (connect included; no-op handler)",
			n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
	})
}

func starRecord() map[string]any {
	return map[string]any{
		"$type":     "io.atcr.sailor.star",
		"subject":   map[string]any{"did": "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "repository": "app"},
		"createdAt": time.Now().UTC().Format(time.RFC3339),
	}
}

// runConsumer runs a consumer until stop (or the test's end); stop waits
// for Run to return, which saves the cursor.
func runConsumer(t *testing.T, url string, h jetstream.Handler, cs jetstream.CursorStore) (*jetstream.Consumer, func()) {
	t.Helper()
	c, err := jetstream.New(jetstream.Options{URL: url, MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}, h, cs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return c, stop
}

// collector hands the test every commit.
type collector struct {
	commits chan jetstream.Commit
}

func newCollector() *collector { return &collector{commits: make(chan jetstream.Commit, 10_000)} }

func (c *collector) HandleCommit(_ context.Context, cm jetstream.Commit) error {
	c.commits <- cm
	return nil
}

// await returns the first commit that matches, within the five seconds the
// UI promises for a record to show up.
func (c *collector) await(t *testing.T, js *jetstreamtest.Jetstream, what string, match func(jetstream.Commit) bool) jetstream.Commit {
	t.Helper()
	limit := time.After(5 * time.Second)
	for {
		select {
		case cm := <-c.commits:
			if match(cm) {
				return cm
			}
		case <-limit:
			t.Fatalf("no %s within 5s\njetstream log:\n%s", what, js.Log())
		}
	}
}

type countingHandler struct {
	mu   sync.Mutex
	seen map[string]bool
	n    atomic.Int64
	want int64
	done chan struct{}
}

// HandleCommit counts distinct bulk records (the rewind may repeat some).
func (h *countingHandler) HandleCommit(_ context.Context, c jetstream.Commit) error {
	if c.Collection != "io.atcr.manifest" || !strings.HasPrefix(c.RKey, "3lbulk") {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seen == nil {
		h.seen = map[string]bool{}
	}
	if h.seen[c.RKey] {
		return nil
	}
	h.seen[c.RKey] = true
	if h.n.Add(1) == h.want {
		close(h.done)
	}
	return nil
}

// memCursors keeps the cursor in memory across consumers of one test.
type memCursors struct {
	mu  sync.Mutex
	cur int64
}

func (m *memCursors) LoadCursor(context.Context) (int64, error) { return m.load(), nil }

func (m *memCursors) SaveCursor(_ context.Context, timeUS int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cur = timeUS
	return nil
}

func (m *memCursors) load() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cur
}
