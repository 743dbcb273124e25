package holdoci

import "sync"

// keyedMutex serialises work per key (an upload session, a user) without a
// lock per possible key: entries exist only while someone holds or waits.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

// Lock blocks until key is free and returns the function that frees it.
func (k *keyedMutex) Lock(key string) (unlock func()) {
	e := k.acquire(key)
	e.mu.Lock()
	return func() { e.mu.Unlock(); k.release(key, e) }
}

// TryLock takes key only when it is free; the sweeper uses it to skip
// sessions that a request is working on.
func (k *keyedMutex) TryLock(key string) (unlock func(), ok bool) {
	e := k.acquire(key)
	if !e.mu.TryLock() {
		k.release(key, e)
		return nil, false
	}
	return func() { e.mu.Unlock(); k.release(key, e) }, true
}

func (k *keyedMutex) acquire(key string) *keyedEntry {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.locks == nil {
		k.locks = make(map[string]*keyedEntry)
	}
	e := k.locks[key]
	if e == nil {
		e = &keyedEntry{}
		k.locks[key] = e
	}
	e.refs++
	return e
}

func (k *keyedMutex) release(key string, e *keyedEntry) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e.refs--
	if e.refs == 0 {
		delete(k.locks, key)
	}
}
