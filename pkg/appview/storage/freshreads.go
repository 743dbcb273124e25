package storage

import (
	"context"
	"sync"
)

// freshReads shares Redis reads of one key between concurrent requests
// without ever answering a request with a value read before it arrived.
// The version counters (index and unlink) are read on every tag lookup and
// blob request so that another AppView's write is seen at once; under load
// most of those requests are for the same few accounts. A request joins the
// next read of its key that has not been sent yet, never one already on its
// way (that one may have left before a write the client saw finish): with
// no read in flight it sends its own; otherwise it waits for the read that
// follows the one in flight, with every request that arrived meanwhile. An
// idle AppView sends one read per request, as before; a busy one at most one
// per round trip and key.
type freshReads struct {
	get func(ctx context.Context, key string) (int64, error)

	mu sync.Mutex
	// keys holds the keys with a read in flight (and no others).
	keys map[string]*keyReads
}

// keyReads is a key whose read is in flight: the read that follows it
// (nil until a request waits for one).
type keyReads struct {
	next *sharedRead
}

// sharedRead is one read and its result, closed done when it has one.
type sharedRead struct {
	done    chan struct{}
	value   int64
	err     error
	waiters int // requests sharing it (under freshReads.mu until it is sent)
}

func newFreshReads(get func(ctx context.Context, key string) (int64, error)) *freshReads {
	return &freshReads{get: get, keys: map[string]*keyReads{}}
}

// read returns key's value as read after the call began. The read itself
// does not stop when ctx ends (others may share it; get bounds it); the
// wait for a shared one does.
func (f *freshReads) read(ctx context.Context, key string) (int64, error) {
	f.mu.Lock()
	k := f.keys[key]
	if k == nil {
		k = &keyReads{}
		f.keys[key] = k
		f.mu.Unlock()
		r := &sharedRead{done: make(chan struct{})}
		f.run(ctx, key, k, r)
		return r.value, r.err
	}
	if k.next == nil {
		k.next = &sharedRead{done: make(chan struct{})}
	}
	r := k.next
	r.waiters++
	f.mu.Unlock()
	select {
	case <-r.done:
		return r.value, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// run sends r's read, then hands the key on: the read that requests
// queued for meanwhile goes out in a goroutine (so this request answers
// now), or the key is idle again.
func (f *freshReads) run(ctx context.Context, key string, k *keyReads, r *sharedRead) {
	r.value, r.err = f.get(context.WithoutCancel(ctx), key)
	close(r.done)
	f.mu.Lock()
	next := k.next
	k.next = nil
	if next == nil {
		delete(f.keys, key)
	}
	f.mu.Unlock()
	if next != nil {
		go f.run(context.WithoutCancel(ctx), key, k, next)
	}
}
