package embedded

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// mkdirParents makes its directory even while another goroutine keeps
// removing the shared parent the moment it is empty, as Moves and deletes
// of other keys do; os.MkdirAll fails under the same churn ("no such file
// or directory"), which is the issue 11 failure. It reports exactly the
// directories it made.
func TestMkdirParentsSurvivesRemovals(t *testing.T) {
	bucket := t.TempDir()
	shared := filepath.Join(bucket, "uploads")
	stop := make(chan struct{})
	var removals atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // another key's writer and remover, in a tight loop
		defer wg.Done()
		other := filepath.Join(shared, "other")
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = os.MkdirAll(other, dirPerm)
			_ = os.Remove(other)
			if os.Remove(shared) == nil {
				removals.Add(1)
			}
		}
	}()
	halt := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer halt()
	for i := range 2000 {
		dir := filepath.Join(shared, fmt.Sprintf("id%d", i))
		created, err := mkdirParents(dir, bucket)
		if err != nil {
			t.Fatalf("mkdirParents %s: %v", dir, err)
		}
		if info, err := os.Stat(dir); err != nil || !info.IsDir() {
			t.Fatalf("after mkdirParents %s: %v", dir, err)
		}
		if !slices.Contains(created, dir) {
			t.Fatalf("mkdirParents %s reports %q, not the directory it made", dir, created)
		}
		if err := os.Remove(dir); err != nil {
			t.Fatal(err)
		}
	}
	halt()
	if removals.Load() == 0 {
		t.Fatal("the shared parent was never removed: the test raced nothing")
	}

	// Existing directories are not reported; an object where a directory
	// should be is an error.
	if err := os.MkdirAll(filepath.Join(bucket, "a", "b"), dirPerm); err != nil {
		t.Fatal(err)
	}
	created, err := mkdirParents(filepath.Join(bucket, "a", "b", "c", "d"), bucket)
	if err != nil || !slices.Equal(created, []string{filepath.Join(bucket, "a", "b", "c"), filepath.Join(bucket, "a", "b", "c", "d")}) {
		t.Fatalf("mkdirParents below a/b = %q, %v", created, err)
	}
	if err := os.WriteFile(filepath.Join(bucket, "file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := mkdirParents(filepath.Join(bucket, "file", "x"), bucket); err == nil {
		t.Fatal("mkdirParents below a file succeeded")
	}
}
