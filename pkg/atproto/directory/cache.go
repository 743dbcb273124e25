package directory

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// entryOverhead is what one cache entry costs beyond its strings (list
// element, map slot, identity struct, maps of the parsed document).
const entryOverhead = 512

// cacheDirectory is the caching identity.Directory New returns. Unlike
// indigo's CacheDirectory it is bounded in bytes (an identity is charged
// the size of its parsed DID document), remembers failures (a DID or
// handle that does not exist for NotFoundTTL, any other failure for
// ErrTTL), and calls BeforeFetch before every lookup that leaves the
// process, so callers can rate-limit the lookups they cause. Concurrent
// lookups of one key share one fetch; a caller whose context ends stops
// waiting for it.
type cacheDirectory struct {
	inner       identity.Directory
	localDev    bool // loopback did:web resolves (unresolvableDID)
	ttl         time.Duration
	errTTL      time.Duration
	notFoundTTL time.Duration
	maxBytes    int64
	maxEntries  int
	beforeFetch func(context.Context) error
	now         func() time.Time

	mu      sync.Mutex
	entries map[string]*list.Element // key → *cacheEntry
	lru     *list.List               // front = most recently used
	bytes   int64
	flights map[string]*flight
}

type cacheEntry struct {
	key     string
	ident   *identity.Identity // nil for a failure
	err     error
	expires time.Time
	size    int64
}

// flight is one fetch in progress, shared by every caller waiting for the
// key; it is cancelled when the last of them leaves.
type flight struct {
	done    chan struct{}
	ident   *identity.Identity
	err     error
	waiters int
	cancel  context.CancelFunc
}

var _ identity.Directory = (*cacheDirectory)(nil)

// LookupDID returns the cached identity or resolves it.
func (c *cacheDirectory) LookupDID(ctx context.Context, did syntax.DID) (*identity.Identity, error) {
	if err := unresolvableDID(did, c.localDev); err != nil {
		return nil, err
	}
	ident, err := c.lookup(ctx, "did:"+did.String(), func(ctx context.Context) (*identity.Identity, error) {
		ident, err := c.inner.LookupDID(ctx, did)
		return ident, refusedAsMissing(err, identity.ErrDIDNotFound)
	})
	if err == nil && !ident.Handle.IsInvalidHandle() && ident.Handle != "" {
		c.fill("handle:"+ident.Handle.String(), ident) // verified both ways
	}
	return ident, err
}

// fill caches ident under key unless something is cached there already.
func (c *cacheDirectory) fill(key string, ident *identity.Identity) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, _, ok := c.getLocked(key, c.now()); !ok {
		c.putLocked(key, ident, nil, c.now())
	}
}

// LookupHandle returns the cached identity or resolves it.
func (c *cacheDirectory) LookupHandle(ctx context.Context, h syntax.Handle) (*identity.Identity, error) {
	h = h.Normalize()
	ident, err := c.lookup(ctx, "handle:"+h.String(), func(ctx context.Context) (*identity.Identity, error) {
		ident, err := c.inner.LookupHandle(ctx, h)
		return ident, refusedAsMissing(err, identity.ErrHandleNotFound)
	})
	if err == nil {
		c.fill("did:"+ident.DID.String(), ident)
	}
	return ident, err
}

// Lookup dispatches on the identifier's kind.
func (c *cacheDirectory) Lookup(ctx context.Context, atid syntax.AtIdentifier) (*identity.Identity, error) {
	return lookupAny(ctx, c, atid)
}

// Purge forgets what is cached for the identifier (and, for a DID, its
// verified handle).
func (c *cacheDirectory) Purge(ctx context.Context, atid syntax.AtIdentifier) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h, err := atid.AsHandle(); err == nil {
		c.removeLocked("handle:" + h.Normalize().String())
	}
	if did, err := atid.AsDID(); err == nil {
		if el, ok := c.entries["did:"+did.String()]; ok {
			if e := el.Value.(*cacheEntry); e.ident != nil && !e.ident.Handle.IsInvalidHandle() {
				c.removeLocked("handle:" + e.ident.Handle.String())
			}
		}
		c.removeLocked("did:" + did.String())
	}
	return nil
}

func (c *cacheDirectory) lookup(ctx context.Context, key string, fetch func(context.Context) (*identity.Identity, error)) (*identity.Identity, error) {
	now := c.now()
	c.mu.Lock()
	if ident, err, ok := c.getLocked(key, now); ok {
		c.mu.Unlock()
		return ident, err
	}
	f, joined := c.flights[key]
	if !joined {
		if c.beforeFetch != nil {
			// Asked before the flight exists: a refused caller starts nothing.
			if err := c.beforeFetch(ctx); err != nil {
				c.mu.Unlock()
				return nil, err
			}
		}
		f = &flight{done: make(chan struct{})}
		c.flights[key] = f
	}
	f.waiters++
	c.mu.Unlock()

	if !joined {
		// The fetch is shared and runs on its own context, cancelled when
		// every caller waiting for it has gone (release): a client that
		// leaves stops the work it started unless someone else needs it.
		fetchCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f.cancel = cancel
		go func() {
			defer cancel()
			ident, err := fetch(fetchCtx)
			c.finish(key, f, ident, err, fetchCtx.Err() == nil)
		}()
	}
	select {
	case <-f.done:
		return f.ident, f.err
	case <-ctx.Done():
		c.release(f)
		return nil, fmt.Errorf("%w: %w", identity.ErrDIDResolutionFailed, ctx.Err())
	}
}

// release drops a waiter that gave up, cancelling the fetch when it was
// the last one.
func (c *cacheDirectory) release(f *flight) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f.waiters--
	if f.waiters == 0 && f.cancel != nil {
		f.cancel()
	}
}

// finish records a fetch's result (unless it was cancelled) and wakes its
// waiters.
func (c *cacheDirectory) finish(key string, f *flight, ident *identity.Identity, err error, store bool) {
	c.mu.Lock()
	f.ident, f.err = ident, err
	if c.flights[key] == f {
		delete(c.flights, key)
	}
	if store {
		c.putLocked(key, ident, err, c.now())
	}
	c.mu.Unlock()
	close(f.done)
}

func (c *cacheDirectory) getLocked(key string, now time.Time) (*identity.Identity, error, bool) {
	el, ok := c.entries[key]
	if !ok {
		return nil, nil, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) {
		c.removeLocked(key)
		return nil, nil, false
	}
	c.lru.MoveToFront(el)
	return e.ident, e.err, true
}

func (c *cacheDirectory) putLocked(key string, ident *identity.Identity, err error, now time.Time) {
	e := &cacheEntry{key: key, ident: ident, err: err, size: entryOverhead + int64(len(key))}
	switch {
	case err == nil:
		e.expires = now.Add(c.ttl)
		e.size += identitySize(ident)
	case errors.Is(err, identity.ErrDIDNotFound), errors.Is(err, identity.ErrHandleNotFound),
		errors.Is(err, identity.ErrInvalidHandle), errors.Is(err, identity.ErrHandleMismatch):
		e.expires = now.Add(c.notFoundTTL)
		e.size += int64(min(len(err.Error()), 1024))
	default:
		e.expires = now.Add(c.errTTL)
		e.size += int64(min(len(err.Error()), 1024))
	}
	if e.err != nil && len(e.err.Error()) > 1024 {
		e.err = fmt.Errorf("%w (details cut)", unwrapSentinel(e.err))
	}
	c.removeLocked(key)
	c.entries[key] = c.lru.PushFront(e)
	c.bytes += e.size
	for (c.bytes > c.maxBytes || c.lru.Len() > c.maxEntries) && c.lru.Len() > 1 {
		c.removeLocked(c.lru.Back().Value.(*cacheEntry).key)
	}
}

// unwrapSentinel keeps the identity sentinel an overlong error wraps.
func unwrapSentinel(err error) error {
	for _, s := range []error{identity.ErrDIDNotFound, identity.ErrHandleNotFound, identity.ErrDIDResolutionFailed,
		identity.ErrHandleResolutionFailed, identity.ErrInvalidHandle, identity.ErrHandleMismatch} {
		if errors.Is(err, s) {
			return s
		}
	}
	return errors.New("identity lookup failed")
}

func (c *cacheDirectory) removeLocked(key string) {
	el, ok := c.entries[key]
	if !ok {
		return
	}
	c.lru.Remove(el)
	delete(c.entries, key)
	c.bytes -= el.Value.(*cacheEntry).size
}

// identitySize estimates the bytes an identity keeps alive: its strings
// and the parsed document's entries.
func identitySize(ident *identity.Identity) int64 {
	if ident == nil {
		return 0
	}
	n := len(ident.DID) + len(ident.Handle)
	for _, a := range ident.AlsoKnownAs {
		n += len(a) + 16
	}
	for k, s := range ident.Services {
		n += len(k) + len(s.Type) + len(s.URL) + 64
	}
	for k, v := range ident.Keys {
		n += len(k) + len(v.Type) + len(v.PublicKeyMultibase) + 64
	}
	return int64(n)
}

// Stats reports the cache's entries and estimated bytes (for tests and
// metrics).
func (c *cacheDirectory) stats() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len(), c.bytes
}
