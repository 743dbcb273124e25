package jetstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/sync/semaphore"
)

// errTooLarge marks a message over Options.MaxMessageBytes.
var errTooLarge = errors.New("message too large")

// session runs one connection: a reader goroutine decodes messages into a
// bounded queue, and this goroutine applies them and saves the cursor. It
// returns when the connection, the handler or ctx fails.
func (c *Consumer) session(ctx context.Context) error {
	from := c.stats.cursor.Load()
	if from > 0 {
		from = max(1, from-c.opts.Rewind.Microseconds())
	}
	conn, resp, err := c.opts.Dialer.DialContext(ctx, c.opts.subscribeURL(from), nil)
	if err != nil {
		if resp != nil {
			err = fmt.Errorf("%w (HTTP %d)", err, resp.StatusCode)
		}
		return fmt.Errorf("connect to %s: %w", c.opts.URL, err)
	}
	c.stats.connected.Store(true)
	c.log.Info("jetstream: connected", "url", c.opts.URL, "from", from)

	sctx, cancel := context.WithCancel(ctx)
	queue := make(chan event, c.opts.QueueEvents)
	c.queue.Store(&queue)
	budget := semaphore.NewWeighted(c.opts.QueueBytes)
	readErr := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(queue)
		readErr <- c.read(sctx, conn, queue, budget)
	}()
	go func() {
		defer wg.Done()
		c.keepAlive(sctx, conn)
	}()
	defer func() {
		cancel()
		// Closing the connection ends a read in progress.
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = conn.Close()
		wg.Wait()
		// What is left in the queue was not applied: it comes again after
		// the rewind.
		c.queue.Store(nil)
		c.stats.connected.Store(false)
	}()

	tick := time.NewTicker(c.opts.CursorSaveInterval)
	defer tick.Stop()
	for {
		select {
		case ev, ok := <-queue:
			if !ok {
				return <-readErr
			}
			err := c.apply(sctx, ev)
			budget.Release(ev.weight)
			if err != nil {
				return err
			}
			if c.opts.Now().Sub(c.lastSave) >= c.opts.CursorSaveInterval {
				c.saveCursor(sctx)
			}
		case <-tick.C:
			c.saveCursor(sctx)
			c.report()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// read decodes messages into queue until the connection fails or ctx ends.
// It blocks while the queue is full (by count or bytes), which stops reads
// from the socket: backpressure instead of buffering.
func (c *Consumer) read(ctx context.Context, conn *websocket.Conn, queue chan<- event, budget *semaphore.Weighted) error {
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(c.opts.IdleTimeout)) })
	for {
		if err := conn.SetReadDeadline(time.Now().Add(c.opts.IdleTimeout)); err != nil {
			return fmt.Errorf("read: %w", err)
		}
		typ, r, err := conn.NextReader()
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		msg, err := readBounded(r, c.opts.MaxMessageBytes)
		switch {
		case errors.Is(err, errTooLarge):
			c.countInvalid(fmt.Errorf("message larger than %d bytes", c.opts.MaxMessageBytes))
			continue
		case err != nil:
			return fmt.Errorf("read: %w", err)
		case typ != websocket.TextMessage:
			c.countInvalid(errors.New("binary message (compressed streams are not requested)"))
			continue
		}
		ev, err := decodeEvent(msg)
		switch {
		case errors.Is(err, errUnknownKind):
			c.stats.ignored.Add(1)
			continue
		case err != nil:
			c.countInvalid(err)
			continue
		case ev.commit != nil && !c.opts.wanted(ev.commit.Collection):
			c.stats.ignored.Add(1)
			continue
		}
		ev.weight = int64(len(msg))
		if err := c.enqueue(ctx, queue, budget, ev); err != nil {
			return err
		}
	}
}

// enqueue waits for room in the queue, by bytes and by count.
func (c *Consumer) enqueue(ctx context.Context, queue chan<- event, budget *semaphore.Weighted, ev event) error {
	if !budget.TryAcquire(ev.weight) {
		c.waiting()
		if err := budget.Acquire(ctx, ev.weight); err != nil {
			return err
		}
	}
	select {
	case queue <- ev:
		return nil
	default:
	}
	c.waiting()
	select {
	case queue <- ev:
		return nil
	case <-ctx.Done():
		budget.Release(ev.weight)
		return ctx.Err()
	}
}

func (c *Consumer) waiting() {
	if c.readerWaits != nil {
		c.readerWaits()
	}
}

// readBounded reads one message of at most limit bytes; a longer one is
// read to its end without being kept, and errTooLarge returned.
func readBounded(r io.Reader, limit int64) ([]byte, error) {
	msg, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(msg)) > limit {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return nil, err
		}
		return nil, errTooLarge
	}
	return msg, nil
}

// keepAlive pings the server so that a dead connection is noticed within
// IdleTimeout even when the filtered stream is quiet.
func (c *Consumer) keepAlive(ctx context.Context, conn *websocket.Conn) {
	t := time.NewTicker(c.opts.IdleTimeout / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(10*time.Second)); err != nil {
				return
			}
		}
	}
}

// apply hands one event to the handler and moves the cursor.
func (c *Consumer) apply(ctx context.Context, ev event) error {
	var err error
	switch {
	case ev.commit != nil:
		err = c.handler.HandleCommit(ctx, *ev.commit)
	case ev.identity != nil:
		if h, ok := c.handler.(IdentityHandler); ok {
			err = h.HandleIdentity(ctx, *ev.identity)
		}
	case ev.account != nil:
		if h, ok := c.handler.(AccountHandler); ok {
			err = h.HandleAccount(ctx, *ev.account)
		}
	}
	if errors.Is(err, ErrInvalidRecord) {
		c.stats.rejected.Add(1)
		c.log.Debug("jetstream: handler refused an event", "kind", ev.kind, "time_us", ev.timeUS, "err", err)
		err = nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.stats.handlerErrors.Add(1)
		return fmt.Errorf("handler: %s event at time_us %d: %w", ev.kind, ev.timeUS, err)
	}
	c.stats.events.Add(1)
	switch {
	case ev.commit != nil:
		c.stats.commits.Add(1)
	case ev.identity != nil:
		c.stats.identities.Add(1)
	case ev.account != nil:
		c.stats.accounts.Add(1)
	}
	if ev.timeUS > c.stats.cursor.Load() {
		// Events of the rewind window are older than the cursor: it never
		// moves back.
		c.stats.cursor.Store(ev.timeUS)
	}
	c.stats.lag.Store(int64(c.opts.Now().Sub(time.UnixMicro(ev.timeUS))))
	return nil
}

// countInvalid counts a skipped message, logging the first and every
// thousandth so a hostile stream cannot flood the log.
func (c *Consumer) countInvalid(reason error) {
	n := c.stats.invalid.Add(1)
	if n == 1 || n%1000 == 0 {
		c.log.Warn("jetstream: skipped an invalid event", "err", reason, "invalid_total", n)
	}
}
