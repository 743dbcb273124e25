package keyedmutex

import (
	"context"
	"sync"
)

// Map is a set of mutexes named by string keys. The zero value is ready
// to use; a Map must not be copied after first use.
type Map struct {
	mu    sync.Mutex
	locks map[string]*entry
}

// entry is one key's lock: a channel of capacity one (held while it holds
// a value), so a waiter can also wait for a context.
type entry struct {
	held chan struct{}
	refs int // holders and waiters
}

// Lock blocks until key is free and returns the function that frees it.
func (m *Map) Lock(key string) (unlock func()) {
	e := m.acquire(key)
	e.held <- struct{}{}
	return m.unlocker(key, e)
}

// LockContext is Lock that gives up, with ctx's error, when ctx ends
// before key is free.
func (m *Map) LockContext(ctx context.Context, key string) (unlock func(), err error) {
	e := m.acquire(key)
	select {
	case e.held <- struct{}{}:
		return m.unlocker(key, e), nil
	case <-ctx.Done():
		m.release(key, e)
		return nil, ctx.Err()
	}
}

// TryLock takes key only when it is free.
func (m *Map) TryLock(key string) (unlock func(), ok bool) {
	e := m.acquire(key)
	select {
	case e.held <- struct{}{}:
		return m.unlocker(key, e), true
	default:
		m.release(key, e)
		return nil, false
	}
}

// Len reports how many keys are held or waited for.
func (m *Map) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.locks)
}

func (m *Map) unlocker(key string, e *entry) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			<-e.held
			m.release(key, e)
		})
	}
}

func (m *Map) acquire(key string) *entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.locks == nil {
		m.locks = make(map[string]*entry)
	}
	e := m.locks[key]
	if e == nil {
		e = &entry{held: make(chan struct{}, 1)}
		m.locks[key] = e
	}
	e.refs++
	return e
}

func (m *Map) release(key string, e *entry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e.refs--
	if e.refs == 0 {
		delete(m.locks, key)
	}
}
