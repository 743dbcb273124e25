package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/hold/scan"
	"atcr.io/pkg/oci"
)

// session is one worker connection on the hold. Its serving goroutine
// is the only writer of data frames; its reader goroutine the only
// reader.
type session struct {
	h      *Handler
	conn   *websocket.Conn
	worker string // as the worker named itself
	lease  string // the name its jobs are leased under
	ctx    context.Context
	cancel context.CancelFunc

	readErr chan error // the reader's last error, at most one

	mu         sync.Mutex
	job        *scan.Job // leased and not yet answered
	superseded bool
}

// errReleased ends a session whose worker gave its job back.
var errReleased = errors.New("the worker gave its job back")

// workerMessage is what the reader hands the serving goroutine: a result
// with its documents, or a release.
type workerMessage struct {
	id      int64
	result  *scan.Result
	release *atcr.HoldSubscribeScanJobs_Release
}

func newSession(h *Handler, conn *websocket.Conn, worker string) *session {
	ctx, cancel := context.WithCancel(h.base)
	return &session{
		h: h, conn: conn, worker: worker, lease: leaseName(worker),
		ctx: ctx, cancel: cancel, readErr: make(chan error, 1),
	}
}

// adopt makes job the session's job in flight; false when the session
// already ended (the caller releases the job).
func (s *session) adopt(job scan.Job) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.superseded || s.ctx.Err() != nil {
		return false
	}
	s.job = &job
	return true
}

// current is the job in flight, nil when none.
func (s *session) current() *scan.Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.job
}

// take removes job id from the session for an answer; false when it is
// not the job in flight (any more).
func (s *session) take(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.job == nil || s.job.ID != id {
		return false
	}
	s.job = nil
	return true
}

// detach removes and returns the job in flight.
func (s *session) detach() *scan.Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	job := s.job
	s.job = nil
	return job
}

// supersede ends the session for a newer connection of its worker and
// hands over its job in flight, lease and all.
func (s *session) supersede() *scan.Job {
	s.mu.Lock()
	s.superseded = true
	job := s.job
	s.job = nil
	s.mu.Unlock()
	s.cancel()
	return job
}

func (s *session) isSuperseded() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.superseded
}

// run serves the connection until it ends, sending resume first when the
// worker resumed a job. It returns why it ended.
func (s *session) run(resume *scan.Job) error {
	s.conn.SetReadLimit(maxWorkerMessage)
	_ = s.conn.SetReadDeadline(time.Now().Add(pongWait))
	s.conn.SetPongHandler(func(string) error { return s.conn.SetReadDeadline(time.Now().Add(pongWait)) })
	in := make(chan workerMessage)
	go func() {
		s.readErr <- s.read(in)
		s.cancel()
	}()
	go s.ping()

	err := s.serve(resume, in)
	s.cancel()
	s.goodbye(err)
	return err
}

// serve hands out jobs and takes the answers.
func (s *session) serve(resume *scan.Job, in <-chan workerMessage) error {
	if resume != nil {
		if err := s.sendJob(*resume); err != nil {
			return err
		}
	}
	for {
		if s.current() == nil {
			job, err := s.h.opts.Dispatcher.Claim(s.ctx, s.lease)
			if err != nil {
				return s.ended(err)
			}
			if !s.adopt(job) {
				s.h.release(s.lease, job.ID, "connection ended while the job was claimed")
				return s.ended(context.Canceled)
			}
			if err := s.sendJob(job); err != nil {
				return err
			}
		}
		select {
		case <-s.ctx.Done():
			return s.ended(context.Canceled)
		case m := <-in:
			if err := s.answer(m); err != nil {
				return err
			}
		}
	}
}

// ended names why the session stopped: the reader's error when it broke,
// else err.
func (s *session) ended(err error) error {
	select {
	case rerr := <-s.readErr:
		s.readErr <- rerr // goodbye looks again
		return rerr
	default:
	}
	if s.isSuperseded() {
		return errors.New("superseded by a new connection of the same worker")
	}
	return err
}

// answer records a worker's answer to the job in flight.
func (s *session) answer(m workerMessage) error {
	if !s.take(m.id) {
		return protoErr("WrongJob", "job %d is not the job this connection holds", m.id)
	}
	// The answer is recorded even if the worker hangs up right after
	// sending it.
	if m.release != nil {
		// A worker that gives a job back hangs up (and reconnects after a
		// backoff): claiming another job for it would only release that too.
		s.h.giveBack(s.lease, m.id, "worker: "+m.release.Reason)
		return errReleased
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), finishTimeout)
	defer cancel()
	err := s.h.opts.Dispatcher.Finish(ctx, s.lease, m.id, *m.result)
	switch {
	case errors.Is(err, scan.ErrNotLeased):
		s.h.log.Warn("scan result dropped: the job's lease had expired", "worker", s.lease, "job", m.id)
	case err != nil:
		// Its lease expires and the job is retried.
		s.h.log.Error("record scan result", "worker", s.lease, "job", m.id, "err", err)
	default:
		s.h.log.Info("scan job finished", "worker", s.lease, "job", m.id, "status", m.result.Status)
	}
	return nil
}

// sendJob sends job with fresh presigned URLs.
func (s *session) sendJob(job scan.Job) error {
	msg, err := jobMessage(job, s.h.opts.HoldDID, func(d oci.Digest) (string, time.Time, error) {
		return s.h.opts.Presigner.PresignGet(s.ctx, d)
	})
	if err != nil {
		return fmt.Errorf("job %d: %w", job.ID, err)
	}
	return s.write(typeScanJob, msg)
}

func (s *session) write(typ string, body any) error {
	data, err := encode(typ, body)
	if err != nil {
		return err
	}
	_ = s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := s.conn.WriteMessage(websocket.TextMessage, data); err != nil {
		return fmt.Errorf("send %s: %w", typ, err)
	}
	return nil
}

// goodbye tells the worker why the connection ends, when it is still
// there to hear it.
func (s *session) goodbye(err error) {
	var perr *protocolError
	switch {
	case s.isSuperseded():
		_ = s.write(typeInfo, &atcr.HoldSubscribeScanJobs_Info{Name: "Superseded", Message: "a newer connection of this worker took over"})
		closeConn(s.conn, websocket.CloseNormalClosure, "superseded")
	case errors.As(err, &perr):
		_ = s.write(typeError, &atcr.HoldSubscribeScanJobs_Error{Error: perr.name, Message: truncate(perr.msg, maxReason)})
		closeConn(s.conn, websocket.ClosePolicyViolation, perr.name)
	case s.h.base.Err() != nil:
		closeConn(s.conn, websocket.CloseGoingAway, "hold shutting down")
	}
}

func closeConn(conn *websocket.Conn, code int, reason string) {
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
}

// ping keeps the worker's connection alive and lets the read deadline
// find a vanished one.
func (s *session) ping() {
	t := time.NewTicker(pingInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			if err := s.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout)); err != nil {
				return
			}
		}
	}
}

// read decodes the worker's messages and hands each to the serving
// goroutine, one at a time (so at most one result is held).
func (s *session) read(in chan<- workerMessage) error {
	types := map[string]func() any{
		typeScanResult: func() any { return new(atcr.HoldSubscribeScanJobs_ScanResult) },
		typeRelease:    func() any { return new(atcr.HoldSubscribeScanJobs_Release) },
	}
	for {
		kind, data, err := s.conn.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				return protoErr("InvalidMessage", "a message exceeds %d bytes", maxWorkerMessage)
			}
			return err
		}
		if kind != websocket.TextMessage {
			return protoErr("InvalidMessage", "expected a JSON text frame")
		}
		typ, v, err := decode(data, types)
		if err != nil {
			return err
		}
		var m workerMessage
		switch typ {
		case typeRelease:
			rel := v.(*atcr.HoldSubscribeScanJobs_Release)
			if len(rel.Reason) > maxReason {
				return protoErr("InvalidMessage", "release reason longer than %d bytes", maxReason)
			}
			m = workerMessage{id: rel.ID, release: rel}
		case typeScanResult:
			msg := v.(*atcr.HoldSubscribeScanJobs_ScanResult)
			res, err := resultFromMessage(msg)
			if err != nil {
				return err
			}
			if res.Report, err = s.readDocument(msg.ReportSize, "report"); err != nil {
				return err
			}
			if res.SBOM, err = s.readDocument(msg.SbomSize, "sbom"); err != nil {
				return err
			}
			m = workerMessage{id: msg.ID, result: &res}
		}
		select {
		case in <- m:
		case <-s.ctx.Done():
			return s.ctx.Err()
		}
	}
}

// readDocument reads the binary frame of exactly size bytes that follows
// a #scanResult (nothing when size is 0), with a read limit of size and
// time for a slow upload.
func (s *session) readDocument(size int64, what string) ([]byte, error) {
	if size == 0 {
		return nil, nil
	}
	s.conn.SetReadLimit(size)
	defer s.conn.SetReadLimit(maxWorkerMessage)
	_ = s.conn.SetReadDeadline(time.Now().Add(pongWait + time.Duration(size/minDocumentRate)*time.Second))
	kind, r, err := s.conn.NextReader()
	if errors.Is(err, websocket.ErrReadLimit) {
		return nil, protoErr("ResultTooLarge", "the %s frame is longer than %d bytes", what, size)
	}
	if err != nil {
		return nil, err
	}
	if kind != websocket.BinaryMessage {
		return nil, protoErr("InvalidMessage", "expected the %s as a binary frame of %d bytes", what, size)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, protoErr("InvalidMessage", "the %s frame is shorter than %d bytes", what, size)
		}
		if errors.Is(err, websocket.ErrReadLimit) {
			return nil, protoErr("ResultTooLarge", "the %s frame is longer than %d bytes", what, size)
		}
		return nil, err
	}
	var one [1]byte
	if n, err := r.Read(one[:]); n > 0 || errors.Is(err, websocket.ErrReadLimit) {
		return nil, protoErr("ResultTooLarge", "the %s frame is longer than %d bytes", what, size)
	}
	_ = s.conn.SetReadDeadline(time.Now().Add(pongWait))
	return buf, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
