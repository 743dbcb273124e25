package index

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"atcr.io/pkg/oci"
)

// counterKey is one repository's counters.
type counterKey struct{ did, repository string }

// counterDelta is what is not yet written for one repository.
type counterDelta struct {
	pulls, pushes      int64
	lastPull, lastPush int64
}

// counters batches CountPull and CountPush: callers add to a map under a
// mutex held for one map update; the flusher goroutine swaps the map out
// and writes it in one transaction.
type counters struct {
	store     *Store
	threshold int

	mu      sync.Mutex
	pending map[counterKey]*counterDelta
	events  int

	flushMu  sync.Mutex // one flush at a time
	kick     chan struct{}
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
	closeErr error
}

func startCounters(s *Store, interval time.Duration, threshold int) *counters {
	c := &counters{
		store: s, threshold: threshold, pending: map[counterKey]*counterDelta{},
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	go c.run(interval)
	return c
}

// CountPull counts one pull of a repository (a manifest GET). It never
// blocks on the database.
func (s *Store) CountPull(did, repository string) { s.counters.add(did, repository, true) }

// CountPush counts one push to a repository (a manifest PUT).
func (s *Store) CountPush(did, repository string) { s.counters.add(did, repository, false) }

// Flush writes the pending counters now.
func (s *Store) Flush(ctx context.Context) error { return s.counters.flush(ctx) }

func (c *counters) add(did, repository string, pull bool) {
	// The registry has validated the name; the bound only keeps garbage
	// out of the map.
	if did == "" || repository == "" || len(did) > 2048 || len(repository) > oci.MaxRepositoryLength {
		return
	}
	now := c.store.now().Unix()
	k := counterKey{did, repository}
	c.mu.Lock()
	d := c.pending[k]
	if d == nil {
		d = &counterDelta{}
		c.pending[k] = d
	}
	if pull {
		d.pulls++
		d.lastPull = now
	} else {
		d.pushes++
		d.lastPush = now
	}
	c.events++
	full := c.events >= c.threshold
	c.mu.Unlock()
	if full {
		select {
		case c.kick <- struct{}{}:
		default: // a flush is already due
		}
	}
}

func (c *counters) run(interval time.Duration) {
	defer close(c.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		case <-c.kick:
		}
		if err := c.flush(context.Background()); err != nil {
			c.store.log.Warn("index: write pull/push counters", "err", err)
		}
	}
}

// flush writes the pending deltas in one transaction; on failure they are
// put back to be written with the next flush.
func (c *counters) flush(ctx context.Context) error {
	c.flushMu.Lock()
	defer c.flushMu.Unlock()
	c.mu.Lock()
	batch := c.pending
	c.pending = map[counterKey]*counterDelta{}
	c.events = 0
	c.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	err := c.store.inTx(ctx, fmt.Sprintf("write counters of %d repositories", len(batch)), func(tx *sql.Tx) error {
		for k, d := range batch {
			if _, err := tx.ExecContext(ctx, `INSERT INTO repository_stats (did, repository, pull_count, push_count, last_pull, last_push)
				VALUES (?, ?, ?, ?, ?, ?)
				ON CONFLICT (did, repository) DO UPDATE SET
					pull_count = repository_stats.pull_count + excluded.pull_count,
					push_count = repository_stats.push_count + excluded.push_count,
					-- CASE, not max(a, b): PostgreSQL's max is only an aggregate
					last_pull = CASE WHEN excluded.last_pull > repository_stats.last_pull THEN excluded.last_pull ELSE repository_stats.last_pull END,
					last_push = CASE WHEN excluded.last_push > repository_stats.last_push THEN excluded.last_push ELSE repository_stats.last_push END`,
				k.did, k.repository, d.pulls, d.pushes, d.lastPull, d.lastPush); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		c.mu.Lock()
		for k, d := range batch {
			p := c.pending[k]
			if p == nil {
				c.pending[k] = d
				continue
			}
			p.pulls += d.pulls
			p.pushes += d.pushes
			p.lastPull = max(p.lastPull, d.lastPull)
			p.lastPush = max(p.lastPush, d.lastPush)
		}
		c.mu.Unlock()
	}
	return err
}

// close stops the flusher and writes what is pending; later calls return
// the first call's result.
func (c *counters) close(ctx context.Context) error {
	c.once.Do(func() {
		close(c.stop)
		<-c.done
		c.closeErr = c.flush(ctx)
	})
	return c.closeErr
}
