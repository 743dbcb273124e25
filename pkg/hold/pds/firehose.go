package pds

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"time"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/events"
	"github.com/gorilla/websocket"

	"atcr.io/pkg/atproto/xrpc"
)

const (
	// firehoseIdent names subscribers in the EventManager. It becomes a
	// prometheus label, so it must be a constant, never per client.
	firehoseIdent = "subscribeRepos"
	pingInterval  = 30 * time.Second
	writeTimeout  = 15 * time.Second
	// maxClientMessage bounds what a subscriber may send; the protocol has
	// no client messages, so anything larger is abuse.
	maxClientMessage = 4 << 10
)

var firehoseUpgrader = websocket.Upgrader{
	ReadBufferSize:  1 << 10,
	WriteBufferSize: 16 << 10,
	// The firehose is public and carries no credentials.
	CheckOrigin: func(*http.Request) bool { return true },
}

// SubscribeRepos serves com.atproto.sync.subscribeRepos: a WebSocket of the
// hold's #commit events. With cursor=N it first replays stored events after N,
// then continues live without a gap (EventManager's playback handover).
func (h *Handlers) SubscribeRepos(w http.ResponseWriter, r *http.Request) {
	var cursor *int64
	if s := r.URL.Query().Get("cursor"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			xrpc.WriteError(w, xrpc.InvalidRequest("cursor must be a non-negative integer"))
			return
		}
		cursor = &n
	}
	limit := int64(h.MaxSubscribers)
	if limit <= 0 {
		limit = DefaultMaxSubscribers
	}
	if h.subscribers.Add(1) > limit {
		h.subscribers.Add(-1)
		xrpc.WriteError(w, xrpc.RateLimitExceeded("too many firehose subscribers; try again later", pingInterval))
		return
	}
	defer h.subscribers.Add(-1)
	conn, err := firehoseUpgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader already answered with an HTTP error
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()

	// Drain client frames so pings are answered and a disconnect is noticed.
	conn.SetReadLimit(maxClientMessage)
	go func() {
		defer cancel()
		for {
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
		}
	}()

	if cursor != nil {
		if last := h.pds.LastSeq(); *cursor > last {
			h.writeFrame(conn, &events.XRPCStreamEvent{Error: &events.ErrorFrame{
				Error: "FutureCursor", Message: "cursor is ahead of the latest event " + strconv.FormatInt(last, 10),
			}})
			closeConn(conn, websocket.ClosePolicyViolation, "FutureCursor")
			return
		}
		if oldest, err := h.pds.oldestSeq(ctx); err == nil && oldest > 0 && *cursor < oldest-1 {
			msg := "events before " + strconv.FormatInt(oldest, 10) + " were pruned; replaying from there"
			if !h.writeFrame(conn, &events.XRPCStreamEvent{RepoInfo: &comatproto.SyncSubscribeRepos_Info{
				Name: "OutdatedCursor", Message: &msg,
			}}) {
				return
			}
		}
	}

	evts, cleanup, err := h.pds.events.Subscribe(ctx, firehoseIdent, nil, cursor)
	if err != nil {
		h.log.Warn("subscribeRepos", "err", err)
		return
	}
	defer cleanup()

	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	for {
		select {
		case evt, ok := <-evts:
			if !ok {
				return
			}
			if !h.writeFrame(conn, evt) {
				return
			}
		case <-ping.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout)); err != nil {
				return
			}
		case <-ctx.Done():
			return
		case <-h.pds.closing:
			closeConn(conn, websocket.CloseGoingAway, "hold shutting down")
			return
		}
	}
}

// writeFrame sends one event as a binary message; false means the
// connection is gone.
func (h *Handlers) writeFrame(conn *websocket.Conn, evt *events.XRPCStreamEvent) bool {
	frame := evt.Preserialized
	if frame == nil {
		var buf bytes.Buffer
		if err := evt.Serialize(&buf); err != nil {
			h.log.Error("serialize firehose frame", "err", err)
			return false
		}
		frame = buf.Bytes()
	}
	_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	return conn.WriteMessage(websocket.BinaryMessage, frame) == nil
}

func closeConn(conn *websocket.Conn, code int, reason string) {
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
}
