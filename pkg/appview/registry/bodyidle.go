package registry

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// DefaultBodyIdleTimeout is Options.BodyIdleTimeout's default.
const DefaultBodyIdleTimeout = time.Minute

// renewEvery: the read deadline moves forward at most this often, so a
// fast stream does not reset a timer on each of its small reads.
const renewEvery = time.Second

// idleBody is an upload body that fails when the client sends nothing for
// idle: a blob PATCH or PUT holds upload memory while it streams, so a
// client that stops sending must not keep it. The server has no overall
// read deadline (a multi-GiB layer streams as long as it keeps moving);
// this one is moved forward as bytes arrive.
type idleBody struct {
	body    io.Reader
	rc      *http.ResponseController
	idle    time.Duration
	renewed time.Time
}

// uploadBody wraps r's body in an idleBody, or returns it as is when the
// connection cannot take read deadlines (tests with httptest recorders).
func (reg *Registry) uploadBody(w http.ResponseWriter, r *http.Request) io.Reader {
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Now().Add(reg.bodyIdle)); err != nil {
		return r.Body
	}
	return &idleBody{body: r.Body, rc: rc, idle: reg.bodyIdle, renewed: time.Now()}
}

func (b *idleBody) Read(p []byte) (int, error) {
	if now := time.Now(); now.Sub(b.renewed) >= renewEvery {
		_ = b.rc.SetReadDeadline(now.Add(b.idle)) // it worked when the body was wrapped
		b.renewed = now
	}
	n, err := b.body.Read(p)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = fmt.Errorf("no bytes for %s: %w: %w", b.idle, ErrBodyStalled, err)
	case err != nil && !errors.Is(err, io.EOF):
		// net/http's io.ErrUnexpectedEOF for a body shorter than its
		// Content-Length (or a chunked body cut off), or the connection
		// reset: the client's side failed, not ours. Not wrapped: readers
		// take io.ErrUnexpectedEOF from io.ReadFull for a normal end.
		err = fmt.Errorf("%w (%v)", ErrBodyIncomplete, err)
	}
	return n, err
}

// exactBody is a chunked (no Content-Length) upload body whose
// Content-Range states its length: it ends after that many bytes, and a
// body that is longer or shorter fails with ErrRangeInvalid, as the same
// request with a Content-Length that disagrees does.
type exactBody struct {
	body io.Reader
	left int64
}

func (b *exactBody) Read(p []byte) (int, error) {
	if b.left == 0 {
		return 0, b.rest()
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.body.Read(p)
	b.left -= int64(n)
	if errors.Is(err, io.EOF) && b.left > 0 {
		err = fmt.Errorf("body ended %d bytes before its Content-Range: %w", b.left, ErrRangeInvalid)
	}
	return n, err
}

// rest is io.EOF when the body has nothing past its range.
func (b *exactBody) rest() error {
	var probe [1]byte
	for {
		n, err := b.body.Read(probe[:])
		if n > 0 {
			return fmt.Errorf("body longer than its Content-Range: %w", ErrRangeInvalid)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return io.EOF
			}
			return err
		}
	}
}
