package keyfile

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func randomKey() ([]byte, error) {
	b := make([]byte, 32)
	_, err := rand.Read(b)
	return b, err
}

func TestCreatedOnceThenReused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "key")
	first, created, err := LoadOrCreate(path, randomKey, quiet())
	if err != nil || !created {
		t.Fatalf("first start: created=%v err=%v", created, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %o, want 600", perm)
	}
	dirInfo, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if perm := dirInfo.Mode().Perm(); perm != 0o700 {
		t.Errorf("key directory mode %o, want 700", perm)
	}
	if onDisk, _ := os.ReadFile(path); !bytes.Equal(onDisk, first) {
		t.Error("returned bytes differ from the file")
	}
	calls := 0
	again, created, err := LoadOrCreate(path, func() ([]byte, error) { calls++; return randomKey() }, quiet())
	if err != nil || created || calls != 0 {
		t.Fatalf("restart: created=%v generate calls=%d err=%v", created, calls, err)
	}
	if !bytes.Equal(again, first) {
		t.Error("restart returned another key")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key (no temporary files)", len(entries))
	}
}

// Processes starting together on an empty data directory agree on one key,
// and only one of them reports having created it.
func TestConcurrentFirstStartsAgree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	const n = 16
	keys := make([][]byte, n)
	var creators atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, created, err := LoadOrCreate(path, randomKey, quiet())
			if err != nil {
				t.Error(err)
				return
			}
			if created {
				creators.Add(1)
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	for i := range keys {
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("starter %d got a different key", i)
		}
	}
	if c := creators.Load(); c != 1 {
		t.Errorf("%d starters report creating the key, want 1", c)
	}
	if onDisk, _ := os.ReadFile(path); !bytes.Equal(onDisk, keys[0]) {
		t.Error("the agreed key is not the one on disk")
	}
}

func TestExistingFileIsNeverReplaced(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	if err := os.WriteFile(path, []byte("not a key at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, created, err := LoadOrCreate(path, randomKey, quiet())
	if err != nil || created || string(data) != "not a key at all" {
		t.Errorf("got %q created=%v err=%v; want the file as is (parsing is the caller's)", data, created, err)
	}

	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, MaxSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreate(big, randomKey, quiet()); err == nil {
		t.Error("a file over MaxSize was accepted")
	}
	if info, _ := os.Stat(big); info.Size() != MaxSize+1 {
		t.Error("the oversized file was replaced")
	}
}

func TestLoosePermissionsWarned(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte("k"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // past the umask
		t.Fatal(err)
	}
	var logs bytes.Buffer
	if _, _, err := LoadOrCreate(path, randomKey, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "readable by group or others") {
		t.Errorf("no warning for a 0644 key file; logs: %q", logs.String())
	}
}

func TestFailuresCreateNothing(t *testing.T) {
	dir := t.TempDir()
	boom := errors.New("no entropy")
	path := filepath.Join(dir, "key")
	if _, _, err := LoadOrCreate(path, func() ([]byte, error) { return nil, boom }, quiet()); !errors.Is(err, boom) {
		t.Errorf("generate failure: err = %v, want it wrapped", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed generate left a file: %v", err)
	}
	// A path that cannot be read for another reason than absence (here its
	// parent is a regular file) is an error, not a reason for a new key.
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	generated := false
	gen := func() ([]byte, error) { generated = true; return randomKey() }
	if _, _, err := LoadOrCreate(filepath.Join(blocker, "key"), gen, quiet()); err == nil || generated {
		t.Errorf("unreadable path: err = %v, generated = %v; want an error and no new key", err, generated)
	}
}
