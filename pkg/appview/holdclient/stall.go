package holdclient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"
)

// partStallTimeout gives up a part send that for this long neither takes a
// byte of the part nor, once it has them all, answers. partPutTimeout alone
// would let a blackholed S3 (or hold) — one that accepts the connection and
// then does nothing — hold the client's PATCH or PUT for ten minutes; a
// slow link that keeps taking bytes still has all of partPutTimeout.
const partStallTimeout = callTimeout

// errPartStalled is the cause of a part send its guard gave up.
var errPartStalled = errors.New("part send stalled: the server took no bytes and gave no answer")

// partGuard cancels a part send that stops making progress: its context
// ends (cause errPartStalled) when the transport has read nothing of the
// body for idle, or has read it all and no answer came within idle.
type partGuard struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	idle   time.Duration
	timer  *time.Timer
}

func guardPart(ctx context.Context, idle time.Duration) *partGuard {
	g := &partGuard{idle: idle}
	g.ctx, g.cancel = context.WithCancelCause(ctx)
	g.timer = time.AfterFunc(idle, func() { g.cancel(errPartStalled) })
	return g
}

// body is a reader of b whose every read counts as progress (GetBody
// calls it again when the transport resends on a fresh connection). An
// empty part is http.NoBody: any other body of length 0 would be sent
// chunked, which S3 refuses (411).
func (g *partGuard) body(b []byte) io.ReadCloser {
	if len(b) == 0 {
		return http.NoBody
	}
	return &progressReader{b: b, g: g}
}

// answered stops the clock: the response has come (or the send failed).
func (g *partGuard) answered() { g.timer.Stop() }

// release frees the context once the response is read.
func (g *partGuard) release() {
	g.timer.Stop()
	g.cancel(nil)
}

// explain returns errPartStalled for a send the guard gave up, else err.
func (g *partGuard) explain(err error) error {
	if errors.Is(context.Cause(g.ctx), errPartStalled) {
		return errPartStalled
	}
	return err
}

// progressReader reads b, resetting the guard's clock on every read.
//
// It has no WriteTo on purpose: net/http hands a body of known length to
// the connection inside an io.LimitedReader, which hides one, so the
// connection copies the part through its own 32 KiB buffer whatever the
// body offers. Letting the part write itself in 1 MiB slices (a connection
// wrapper that unwraps the limit) measured the same sender CPU over
// loopback, 4.8–5.5 ms per 8 MiB part either way, so nothing here tries.
type progressReader struct {
	b   []byte
	off int
	g   *partGuard
}

func (p *progressReader) Read(b []byte) (int, error) {
	if p.off >= len(p.b) {
		return 0, io.EOF
	}
	p.g.timer.Reset(p.g.idle)
	n := copy(b, p.b[p.off:])
	p.off += n
	return n, nil
}

func (p *progressReader) Close() error { return nil }
