package pds

import (
	"atcr.io/internal/syncbuf"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/atproto/repo"
	"github.com/bluesky-social/indigo/events"
	lexutil "github.com/bluesky-social/indigo/lex/util"
	"github.com/gorilla/websocket"
)

// startServer serves p's routes on a test server without the access checks
// the hold's router puts in front of some of them.
func startServer(t testing.TB, p *PDS) *httptest.Server {
	t.Helper()
	return serveHandlers(t, NewHandlers(p))
}

func serveHandlers(t testing.TB, h *Handlers) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(routerOf(h))
	t.Cleanup(srv.Close)
	return srv
}

// dialFirehose opens subscribeRepos; cursor "" subscribes live only.
func dialFirehose(t testing.TB, srv *httptest.Server, cursor string) *websocket.Conn {
	t.Helper()
	u := "ws" + strings.TrimPrefix(srv.URL, "http") + "/xrpc/com.atproto.sync.subscribeRepos"
	if cursor != "" {
		u += "?cursor=" + cursor
	}
	conn, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial firehose: %v", err)
	}
	resp.Body.Close()
	t.Cleanup(func() { conn.Close() })
	return conn
}

// readEvent reads and decodes one firehose frame.
func readEvent(t testing.TB, conn *websocket.Conn) *events.XRPCStreamEvent {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	typ, msg, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("read firehose frame: %v", err)
	}
	if typ != websocket.BinaryMessage {
		t.Fatalf("frame type %d, want binary", typ)
	}
	var evt events.XRPCStreamEvent
	if err := evt.Deserialize(bytes.NewReader(msg)); err != nil {
		t.Fatalf("decode frame: %v", err)
	}
	return &evt
}

func readCommit(t testing.TB, conn *websocket.Conn) *comatproto.SyncSubscribeRepos_Commit {
	t.Helper()
	evt := readEvent(t, conn)
	if evt.RepoCommit == nil {
		t.Fatalf("frame is not a #commit: %+v", evt)
	}
	return evt.RepoCommit
}

// verifyCommitEvent runs indigo's checks: MST inversion to prevData and the
// commit signature against the hold's key.
func verifyCommitEvent(t testing.TB, p *PDS, evt *comatproto.SyncSubscribeRepos_Commit) {
	t.Helper()
	ctx := context.Background()
	if _, err := repo.VerifyCommitMessage(ctx, evt); err != nil {
		t.Errorf("VerifyCommitMessage seq %d: %v", evt.Seq, err)
	}
	if err := repo.VerifyCommitSignature(ctx, mockDir(p), evt); err != nil {
		t.Errorf("VerifyCommitSignature seq %d: %v", evt.Seq, err)
	}
	for _, op := range evt.Ops {
		if (op.Action == "update" || op.Action == "delete") && op.Prev == nil {
			t.Errorf("seq %d: %s op without prev (inversion would be skipped)", evt.Seq, op.Action)
		}
	}
}

func TestFirehoseCommitsVerify(t *testing.T) {
	ctx := context.Background()
	p := openTestPDS(t, "")
	fillRepo(t, p, 50) // a tree with several levels, so inversion is not trivial
	srv := startServer(t, p)
	// A cursor at the head makes the subscription gap-free: no race between
	// the handshake and the first write.
	conn := dialFirehose(t, srv, fmt.Sprint(p.LastSeq()))

	if _, _, err := p.CreateRecord(ctx, crewNSID, "newcrew", crewRecord("did:plc:new", "blob:read", "blob:write")); err != nil {
		t.Fatal(err)
	}
	mustPut(t, p, crewNSID, "m0003", crewRecord("did:plc:m3", "admin"))
	if err := p.DeleteRecord(ctx, crewNSID, "m0004"); err != nil {
		t.Fatal(err)
	}

	var got []*comatproto.SyncSubscribeRepos_Commit
	for _, want := range []string{"create", "update", "delete"} {
		evt := readCommit(t, conn)
		if len(evt.Ops) != 1 || evt.Ops[0].Action != want {
			t.Fatalf("event ops = %+v, want one %s", evt.Ops, want)
		}
		verifyCommitEvent(t, p, evt)
		got = append(got, evt)
	}
	if got[0].Ops[0].Path != "io.atcr.hold.crew/newcrew" || got[0].Ops[0].Prev != nil {
		t.Errorf("create op = %+v", got[0].Ops[0])
	}

	// Negative controls: each must be rejected, proving the checks can fail.
	tampered := *got[1]
	other := lexutil.LexLink(got[0].Commit)
	tampered.PrevData = &other
	if _, err := repo.VerifyCommitMessage(ctx, &tampered); err == nil || !strings.Contains(err.Error(), "prevData") {
		t.Errorf("tampered prevData: err = %v, want inversion mismatch", err)
	}
	dropped := *got[0]
	dropped.Ops = nil
	if _, err := repo.VerifyCommitMessage(ctx, &dropped); err == nil {
		t.Error("commit with a dropped op verified")
	}
}

func TestFirehoseReplayAcrossRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p1 := openTestPDS(t, dir)
	fillRepo(t, p1, 5)
	p1.Close()

	p2 := openTestPDS(t, dir)
	mustPut(t, p2, crewNSID, "m0001", crewRecord("did:plc:changed"))
	if err := p2.DeleteRecord(ctx, crewNSID, "m0002"); err != nil {
		t.Fatal(err)
	}
	mustPut(t, p2, crewNSID, "after-restart", crewRecord("did:plc:late"))
	last := p2.LastSeq()
	srv := startServer(t, p2)
	conn := dialFirehose(t, srv, "0")

	var prev *comatproto.SyncSubscribeRepos_Commit
	var prevData string
	for seq := int64(1); seq <= last; seq++ {
		evt := readCommit(t, conn)
		if evt.Seq != seq {
			t.Fatalf("seq = %d, want %d", evt.Seq, seq)
		}
		verifyCommitEvent(t, p2, evt)
		commit, _, err := repo.LoadCommitFromCAR(ctx, bytes.NewReader(evt.Blocks))
		if err != nil {
			t.Fatalf("seq %d commit: %v", seq, err)
		}
		if prev == nil {
			if evt.Since != nil || evt.PrevData != nil {
				t.Errorf("genesis commit has since/prevData")
			}
		} else {
			if evt.Since == nil || *evt.Since != prev.Rev {
				t.Errorf("seq %d since = %v, want %s", seq, evt.Since, prev.Rev)
			}
			if evt.PrevData == nil || evt.PrevData.String() != prevData {
				t.Errorf("seq %d prevData = %v, want %s", seq, evt.PrevData, prevData)
			}
			if evt.Rev <= prev.Rev {
				t.Errorf("seq %d rev %s not after %s", seq, evt.Rev, prev.Rev)
			}
		}
		prev, prevData = evt, commit.Data.String()
	}
	if _, headRev := p2.Head(); prev.Rev != headRev {
		t.Errorf("last replayed rev %s, head %s", prev.Rev, headRev)
	}
	// Live events continue the same chain after the replay.
	mustPut(t, p2, crewNSID, "live", crewRecord("did:plc:live"))
	evt := readCommit(t, conn)
	if evt.Seq != last+1 || evt.Since == nil || *evt.Since != prev.Rev {
		t.Errorf("live event seq %d since %v, want %d since %s", evt.Seq, evt.Since, last+1, prev.Rev)
	}
	verifyCommitEvent(t, p2, evt)
}

func TestFirehoseCursorErrors(t *testing.T) {
	ctx := context.Background()
	p := openTestPDS(t, "", func(o *Options) { o.KeepEvents = 3 })
	fillRepo(t, p, 10)
	srv := startServer(t, p)

	evt := readEvent(t, dialFirehose(t, srv, fmt.Sprint(p.LastSeq()+5)))
	if evt.Error == nil || evt.Error.Error != "FutureCursor" {
		t.Errorf("future cursor: frame %+v, want FutureCursor error", evt)
	}

	if _, err := p.GC(ctx); err != nil {
		t.Fatal(err)
	}
	conn := dialFirehose(t, srv, "0")
	evt = readEvent(t, conn)
	if evt.RepoInfo == nil || evt.RepoInfo.Name != "OutdatedCursor" {
		t.Fatalf("pruned cursor: frame %+v, want #info OutdatedCursor", evt)
	}
	if c := readCommit(t, conn); c.Seq != p.LastSeq()-2 {
		t.Errorf("replay after pruning starts at %d, want %d", c.Seq, p.LastSeq()-2)
	}

	resp, err := http.Get(srv.URL + "/xrpc/com.atproto.sync.subscribeRepos?cursor=-1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("negative cursor: status %d", resp.StatusCode)
	}
}

// TestFirehoseSubscriberCap [L1]: beyond MaxSubscribers concurrent
// connections, subscribeRepos answers 429 RateLimitExceeded with
// Retry-After instead of replaying events to everyone who asks.
func TestFirehoseSubscriberCap(t *testing.T) {
	p := openTestPDS(t, "")
	h := NewHandlers(p)
	h.MaxSubscribers = 2
	srv := serveHandlers(t, h)
	dialFirehose(t, srv, "")
	dialFirehose(t, srv, "")
	u := "ws" + strings.TrimPrefix(srv.URL, "http") + "/xrpc/com.atproto.sync.subscribeRepos"
	conn, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err == nil {
		conn.Close()
		t.Fatal("a third subscriber was admitted")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third subscriber: %d Retry-After=%q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// TestFirehoseSubscriberLeavingLogsNoError: a subscriber that replays from
// a cursor and leaves before the next live event writes no ERROR line
// (before, indigo's second playback logged "events playback: playback
// shutting down" at ERROR for every such client, which anyone could cause).
func TestFirehoseSubscriberLeavingLogsNoError(t *testing.T) {
	var logs syncbuf.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(prev) })
	p := openTestPDS(t, "") // its event manager logs to the default logger as it is now
	fillRepo(t, p, 3)
	srv := startServer(t, p)
	for range 3 {
		conn := dialFirehose(t, srv, "0")
		for range p.LastSeq() {
			readCommit(t, conn)
		}
		conn.Close() // caught up, before any live event: Subscribe waits for one

	}
	time.Sleep(500 * time.Millisecond) // the subscriptions wind down
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "level=ERROR") && strings.Contains(line, "playback") {
			t.Errorf("a leaving subscriber logged: %s", line)
		}
	}
}
