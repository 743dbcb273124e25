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
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("no bytes for %s: %w: %w", b.idle, ErrBodyStalled, err)
	}
	return n, err
}
