package keyedmutex

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestTryLock(t *testing.T) {
	var k Map
	unlock := k.Lock("a")
	if _, ok := k.TryLock("a"); ok {
		t.Fatal("TryLock took a held key")
	}
	other, ok := k.TryLock("b")
	if !ok {
		t.Fatal("TryLock refused a free key")
	}
	other()
	unlock()
	unlock() // a second call is harmless
	again, ok := k.TryLock("a")
	if !ok {
		t.Fatal("TryLock refused a released key")
	}
	again()
	if n := k.Len(); n != 0 {
		t.Fatalf("%d lock entries left", n)
	}
}

func TestLockSerialisesOneKey(t *testing.T) {
	var k Map
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			unlock := k.Lock("a")
			defer unlock()
			n := inside.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			inside.Add(-1)
		})
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Fatalf("%d holders of one key at once", most.Load())
	}
	if n := k.Len(); n != 0 {
		t.Fatalf("%d lock entries left", n)
	}
}

func TestLockContextGivesUp(t *testing.T) {
	var k Map
	unlock := k.Lock("a")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := k.LockContext(ctx, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("LockContext on a held key: %v, want the context's deadline", err)
	}
	unlock()
	got, err := k.LockContext(context.Background(), "a")
	if err != nil {
		t.Fatalf("LockContext on a free key: %v", err)
	}
	got()
	if n := k.Len(); n != 0 {
		t.Fatalf("%d lock entries left", n)
	}
}
