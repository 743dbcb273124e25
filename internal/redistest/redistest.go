package redistest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// databases is how many numbered databases the server has: one per test
// that asks, in one test binary.
const databases = 4096

var (
	startOnce sync.Once
	socket    string
	startErr  error

	mu     sync.Mutex
	nextDB = 0
)

// URL returns the redis:// URL (a unix:// one) of a database no other test
// of this binary uses, emptied.
func URL(t testing.TB) string {
	t.Helper()
	sock, db := database(t)
	return fmt.Sprintf("unix://%s?db=%d", sock, db)
}

// New returns a client of a database no other test of this binary uses,
// emptied, closed when the test ends.
func New(t testing.TB) *redis.Client {
	t.Helper()
	sock, db := database(t)
	c := redis.NewClient(&redis.Options{Network: "unix", Addr: sock, DB: db})
	t.Cleanup(func() { _ = c.Close() })
	if err := c.FlushDB(t.Context()).Err(); err != nil {
		t.Fatalf("redistest: flush database %d: %v", db, err)
	}
	return c
}

func database(t testing.TB) (string, int) {
	t.Helper()
	startOnce.Do(func() { socket, startErr = start() })
	if startErr != nil {
		if os.Getenv("ATCR_REQUIRE_REDIS") == "1" {
			t.Fatalf("redistest: %v (ATCR_REQUIRE_REDIS=1)", startErr)
		}
		t.Skipf("redistest: %v", startErr)
	}
	mu.Lock()
	defer mu.Unlock()
	if nextDB >= databases {
		t.Fatalf("redistest: more than %d tests asked for a database", databases)
	}
	nextDB++
	return socket, nextDB - 1
}

// start runs redis-server on a unix socket in a new temporary directory.
// The server dies with the test process (Pdeathsig); the directory is in
// os.TempDir and holds only the socket.
func start() (string, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", fmt.Errorf("redis-server not installed (apt-get install -y redis-server): %w", err)
	}
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return "", fmt.Errorf("temp dir: %w", err)
	}
	sock := filepath.Join(dir, "redis.sock")
	cmd := exec.Command(bin,
		"--port", "0", "--unixsocket", sock, "--unixsocketperm", "700",
		"--save", "", "--appendonly", "no", "--dir", dir,
		"--databases", fmt.Sprint(databases), "--loglevel", "warning")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start redis-server: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); _ = os.RemoveAll(dir) }()
	c := redis.NewClient(&redis.Options{Network: "unix", Addr: sock})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := c.Ping(context.Background()).Err(); err == nil {
			return sock, nil
		}
		select {
		case err := <-exited:
			return "", fmt.Errorf("redis-server exited: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return "", fmt.Errorf("redis-server did not answer on %s", sock)
		}
	}
}
