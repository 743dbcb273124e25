package remote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/gorilla/websocket"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/hold/scan"
)

// errSuperseded is a connection the hold replaced by a newer one of the
// same worker name: this worker's own reconnection, or another worker
// using the same name, which makes the two take each other's place.
var errSuperseded = errors.New("the hold replaced this connection by a newer one of the same worker name; if this repeats, another worker uses the same name")

// workerConn is one connection of a worker: a reader goroutine that
// answers the hold's pings and hands over its jobs, and the worker's
// goroutine, the only writer of data frames.
type workerConn struct {
	conn   *websocket.Conn
	ctx    context.Context // ends with the connection
	cancel context.CancelFunc
	jobs   chan *atcr.HoldSubscribeScanJobs_ScanJob
	done   chan struct{}
	err    error // why the reader stopped; set before done closes
}

func newWorkerConn(ctx context.Context, conn *websocket.Conn) *workerConn {
	ctx, cancel := context.WithCancel(ctx)
	return &workerConn{conn: conn, ctx: ctx, cancel: cancel,
		jobs: make(chan *atcr.HoldSubscribeScanJobs_ScanJob, 1), done: make(chan struct{})}
}

// read runs until the connection fails or breaks the protocol; then it
// cancels the connection's context, which stops a scan in progress.
func (c *workerConn) read() {
	defer close(c.done)
	defer c.cancel()
	c.err = c.readLoop()
}

func (c *workerConn) readLoop() error {
	c.conn.SetReadLimit(maxJobMessage)
	_ = c.conn.SetReadDeadline(time.Now().Add(pongWait))
	c.conn.SetPingHandler(func(data string) error {
		_ = c.conn.SetReadDeadline(time.Now().Add(pongWait))
		err := c.conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeTimeout))
		var ne net.Error
		if errors.Is(err, websocket.ErrCloseSent) || (errors.As(err, &ne) && ne.Timeout()) {
			return nil
		}
		return err
	})
	types := map[string]func() any{
		typeScanJob: func() any { return new(atcr.HoldSubscribeScanJobs_ScanJob) },
		typeInfo:    func() any { return new(atcr.HoldSubscribeScanJobs_Info) },
		typeError:   func() any { return new(atcr.HoldSubscribeScanJobs_Error) },
	}
	go func() { // a cancelled worker hangs up, which ends ReadMessage
		<-c.ctx.Done()
		closeConn(c.conn, websocket.CloseGoingAway, "worker stopping")
		c.conn.Close()
	}()
	for {
		kind, data, err := c.conn.ReadMessage()
		if err != nil {
			return err
		}
		if kind != websocket.TextMessage {
			return errors.New("the hold sent a binary frame")
		}
		typ, v, err := decode(data, types)
		if err != nil {
			return err
		}
		switch m := v.(type) {
		case *atcr.HoldSubscribeScanJobs_Info:
			if m.Name == "Superseded" {
				return errSuperseded
			}
			return fmt.Errorf("hold: %s: %s", m.Name, m.Message)
		case *atcr.HoldSubscribeScanJobs_Error:
			return fmt.Errorf("hold: %s: %s", m.Error, m.Message)
		case *atcr.HoldSubscribeScanJobs_ScanJob:
			select {
			case c.jobs <- m:
			default:
				return fmt.Errorf("hold sent %s while a job is in flight", typ)
			}
		}
	}
}

// next waits for the next job.
func (c *workerConn) next() (*atcr.HoldSubscribeScanJobs_ScanJob, error) {
	select {
	case m := <-c.jobs:
		return m, nil
	case <-c.done:
		return nil, c.err
	}
}

func (c *workerConn) send(typ string, body any) error {
	data, err := encode(typ, body)
	if err != nil {
		return err
	}
	_ = c.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := c.conn.WriteMessage(websocket.TextMessage, data); err != nil {
		return fmt.Errorf("send %s: %w", typ, err)
	}
	return nil
}

// sendResult sends #scanResult and the documents it announces.
func (c *workerConn) sendResult(id int64, res scan.Result) error {
	if err := c.send(typeScanResult, resultMessage(id, res)); err != nil {
		return err
	}
	for _, doc := range [][]byte{res.Report, res.SBOM} {
		if len(doc) == 0 {
			continue
		}
		_ = c.conn.SetWriteDeadline(time.Now().Add(writeTimeout + time.Duration(len(doc)/minDocumentRate)*time.Second))
		if err := c.conn.WriteMessage(websocket.BinaryMessage, doc); err != nil {
			return fmt.Errorf("send result document: %w", err)
		}
	}
	return nil
}
