package jetstream

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// base is a realistic time_us (November 2026) for the test events.
const base int64 = 1_795_000_000_000_000

const (
	testDID = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"
	testCID = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"
)

// waitLimit bounds every wait of these tests so a broken consumer fails
// instead of hanging; no assertion depends on it.
const waitLimit = 10 * time.Second

// fakeJetstream is an in-process Jetstream: a real websocket server whose
// connections the test drives message by message.
type fakeJetstream struct {
	srv    *httptest.Server
	conns  chan *fakeConn
	refuse atomic.Int32 // answer this many more connection attempts with 503
}

type fakeConn struct {
	ws    *websocket.Conn
	query url.Values
}

func newFakeJetstream(t testing.TB) *fakeJetstream {
	t.Helper()
	f := &fakeJetstream{conns: make(chan *fakeConn, 16)}
	var mu sync.Mutex
	var open []*websocket.Conn
	up := websocket.Upgrader{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/subscribe" {
			http.NotFound(w, r)
			return
		}
		if f.refuse.Load() > 0 {
			f.refuse.Add(-1)
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		mu.Lock()
		open = append(open, ws)
		mu.Unlock()
		// Read (and drop) what the client sends, so its pings get pongs
		// and its close is noticed.
		go func() {
			for {
				if _, _, err := ws.NextReader(); err != nil {
					return
				}
			}
		}()
		f.conns <- &fakeConn{ws: ws, query: r.URL.Query()}
	}))
	t.Cleanup(func() {
		mu.Lock()
		for _, ws := range open {
			_ = ws.Close()
		}
		mu.Unlock()
		f.srv.Close()
	})
	return f
}

func (f *fakeJetstream) url() string { return "ws" + strings.TrimPrefix(f.srv.URL, "http") }

// next waits for the consumer's next connection.
func (f *fakeJetstream) next(t testing.TB) *fakeConn {
	t.Helper()
	select {
	case c := <-f.conns:
		return c
	case <-time.After(waitLimit):
		t.Fatal("the consumer did not connect")
		return nil
	}
}

func (c *fakeConn) send(t testing.TB, msgs ...string) {
	t.Helper()
	for _, m := range msgs {
		if err := c.ws.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
}

// cursor is the cursor the consumer asked for (0: none).
func (c *fakeConn) cursor(t testing.TB) int64 {
	t.Helper()
	v := c.query.Get("cursor")
	if v == "" {
		return 0
	}
	var n int64
	if _, err := fmt.Sscan(v, &n); err != nil {
		t.Fatalf("cursor %q: %v", v, err)
	}
	return n
}

func commitMsg(op Operation, collection, rkey string, timeUS int64) string {
	c := map[string]any{"rev": "3n3af75asi22q", "operation": op, "collection": collection, "rkey": rkey}
	if op != OpDelete {
		c["cid"] = testCID
		c["record"] = map[string]any{"$type": collection, "createdAt": "2026-11-26T10:00:00Z", "digest": "sha256:" + strings.Repeat("a", 64)}
	}
	b, _ := json.Marshal(map[string]any{"did": testDID, "time_us": timeUS, "kind": "commit", "commit": c})
	return string(b)
}

func manifestMsg(rkey string, timeUS int64) string {
	return commitMsg(OpCreate, "io.atcr.manifest", rkey, timeUS)
}

func identityMsg(timeUS int64) string {
	return fmt.Sprintf(`{"did":%q,"time_us":%d,"kind":"identity","identity":{"did":%q,"handle":"alice.test","seq":7,"time":"2026-11-26T10:00:00Z"}}`, testDID, timeUS, testDID)
}

func accountMsg(timeUS int64) string {
	return fmt.Sprintf(`{"did":%q,"time_us":%d,"kind":"account","account":{"did":%q,"active":false,"status":"deactivated","seq":8,"time":"2026-11-26T10:00:00Z"}}`, testDID, timeUS, testDID)
}

// recorder is a Handler that hands every event to the test. fail, when
// set, decides a commit's error; it runs before the commit is recorded.
type recorder struct {
	commits    chan Commit
	identities chan Identity
	accounts   chan Account
	fail       func(ctx context.Context, c Commit) error

	maxApplied atomic.Int64
}

func newRecorder() *recorder {
	return &recorder{commits: make(chan Commit, 10_000), identities: make(chan Identity, 100), accounts: make(chan Account, 100)}
}

func (r *recorder) HandleCommit(ctx context.Context, c Commit) error {
	if r.fail != nil {
		if err := r.fail(ctx, c); err != nil {
			return err
		}
	}
	r.applied(c.TimeUS)
	r.commits <- c
	return nil
}

func (r *recorder) HandleIdentity(_ context.Context, id Identity) error {
	r.applied(id.TimeUS)
	r.identities <- id
	return nil
}

func (r *recorder) HandleAccount(_ context.Context, a Account) error {
	r.applied(a.TimeUS)
	r.accounts <- a
	return nil
}

func (r *recorder) applied(timeUS int64) {
	for {
		old := r.maxApplied.Load()
		if timeUS <= old || r.maxApplied.CompareAndSwap(old, timeUS) {
			return
		}
	}
}

func (r *recorder) nextCommit(t testing.TB) Commit {
	t.Helper()
	select {
	case c := <-r.commits:
		return c
	case <-time.After(waitLimit):
		t.Fatal("no commit reached the handler")
		return Commit{}
	}
}

// memCursors is a CursorStore that fails the test when a saved cursor is
// ahead of what the handler applied.
type memCursors struct {
	t       testing.TB
	handler *recorder
	mu      sync.Mutex
	cur     int64
	saved   chan int64
}

func newMemCursors(t testing.TB, h *recorder, start int64) *memCursors {
	return &memCursors{t: t, handler: h, cur: start, saved: make(chan int64, 1000)}
}

func (m *memCursors) LoadCursor(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cur, nil
}

func (m *memCursors) SaveCursor(_ context.Context, timeUS int64) error {
	if applied := m.handler.maxApplied.Load(); timeUS > applied {
		m.t.Errorf("cursor %d saved ahead of the newest applied event %d", timeUS, applied)
	}
	m.mu.Lock()
	if timeUS < m.cur {
		m.t.Errorf("cursor moved back from %d to %d", m.cur, timeUS)
	}
	m.cur = timeUS
	m.mu.Unlock()
	m.saved <- timeUS
	return nil
}

func (m *memCursors) load() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cur
}

// sleeps records the consumer's backoff waits without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// start runs a consumer until the test ends and returns it with a stop
// function that cancels it and waits for Run's result.
func start(t testing.TB, opts Options, h Handler, cs CursorStore) (*Consumer, func() error) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	c, err := New(opts, h, cs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(waitLimit):
				t.Error("Run did not return after its context was cancelled")
			}
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return c, stop
}
