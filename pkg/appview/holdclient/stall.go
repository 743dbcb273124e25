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

// progressReader reads b, resetting the guard's clock on every read. It
// is a WriterTo so the transport writes the part in large slices straight
// from b (as it does a bytes.Reader) instead of through its 4 KiB buffer,
// one system call per slice; the clock is reset per slice.
type progressReader struct {
	b   []byte
	off int
	g   *partGuard
}

// writeSlice is how much of the part one write hands the connection.
const writeSlice = 1 << 20

func (p *progressReader) Read(b []byte) (int, error) {
	if p.off >= len(p.b) {
		return 0, io.EOF
	}
	p.g.timer.Reset(p.g.idle)
	n := copy(b, p.b[p.off:])
	p.off += n
	return n, nil
}

func (p *progressReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for p.off < len(p.b) {
		p.g.timer.Reset(p.g.idle)
		end := min(p.off+writeSlice, len(p.b))
		n, err := w.Write(p.b[p.off:end])
		p.off += n
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (p *progressReader) Close() error { return nil }
