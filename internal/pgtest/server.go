package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"atcr.io/internal/postgres"
)

// RequireEnv makes a missing PostgreSQL fail tests instead of skipping them.
const RequireEnv = "ATCR_REQUIRE_POSTGRES"

// BinEnv names a directory holding initdb and postgres, overriding the search.
const BinEnv = "ATCR_POSTGRES_BIN"

// superuser is the cluster's superuser; trust authentication on the
// private socket, so there is no password.
const superuser = "atcr"

// readyTimeout bounds the wait for a started server to accept connections.
const readyTimeout = 60 * time.Second

// Server is a running throwaway PostgreSQL.
type Server struct {
	dir    string // owned by the server's user: data/ and the socket
	cmd    *exec.Cmd
	exited chan struct{}
	admin  *sql.DB
	dbs    atomic.Int64
}

var (
	mu       sync.Mutex
	started  *Server
	startErr error
	inMain   bool
)

// Main runs the package's tests and then stops the server, if a test
// started one. Call it from TestMain: os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	mu.Lock()
	inMain = true
	mu.Unlock()
	code := m.Run()
	mu.Lock()
	defer mu.Unlock()
	if started != nil {
		started.stop()
		started = nil
	}
	return code
}

// URL creates a fresh, empty database on the test binary's server
// (starting it on first use) and returns its URL. It skips t when
// PostgreSQL is not installed, unless ATCR_REQUIRE_POSTGRES=1.
func URL(t testing.TB) string {
	t.Helper()
	s, err := server()
	if errors.Is(err, errNotInstalled) && os.Getenv(RequireEnv) != "1" {
		t.Skipf("PostgreSQL tests skipped: %v (set %s=1 to fail instead)", err, RequireEnv)
	}
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	name := fmt.Sprintf("t%d", s.dbs.Add(1))
	if _, err := s.admin.ExecContext(context.Background(), `CREATE DATABASE `+name); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	return s.URL(name)
}

// URL returns the URL of database name on s.
func (s *Server) URL(name string) string {
	return "postgres://" + superuser + "@/" + name + "?host=" + url.QueryEscape(s.dir) + "&sslmode=disable"
}

var errNotInstalled = errors.New("PostgreSQL is not installed (apt-get install postgresql)")

// server returns the test binary's server, starting it once.
func server() (*Server, error) {
	mu.Lock()
	defer mu.Unlock()
	if !inMain {
		return nil, errors.New("call pgtest.Main from the package's TestMain, which stops the server")
	}
	if started == nil && startErr == nil {
		started, startErr = Start(context.Background())
	}
	return started, startErr
}

// Start initdb's a cluster in a new temporary directory and starts
// postgres on a unix socket there; Stop ends it and removes the directory.
// Most tests want URL instead.
func Start(ctx context.Context) (*Server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "atcr-pgtest-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	s := &Server{dir: dir, exited: make(chan struct{})}
	if err := s.start(ctx, bin, cred); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// Stop stops the server and removes its directory.
func (s *Server) Stop() { s.stop() }

func (s *Server) start(ctx context.Context, bin string, cred *syscall.Credential) error {
	if cred != nil {
		if err := os.Chown(s.dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("hand %s to uid %d: %w", s.dir, cred.Uid, err)
		}
	}
	data := filepath.Join(s.dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", superuser,
		"--auth=trust", "--no-sync", "--locale=C.UTF-8", "--encoding=UTF8", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = s.dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	logFile, err := os.Create(filepath.Join(s.dir, "postgres.log"))
	if err != nil {
		return fmt.Errorf("server log: %w", err)
	}
	defer logFile.Close()
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-k", s.dir,
		"-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=300", "-c", "shared_buffers=32MB")
	s.cmd.Dir = s.dir
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	// SIGQUIT (immediate shutdown) when the test binary dies without Stop.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	admin, err := postgres.Open(ctx, s.URL("postgres"))
	deadline := time.Now().Add(readyTimeout)
	for err != nil && time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("postgres exited at start:\n%s", s.log())
		case <-time.After(50 * time.Millisecond):
		}
		admin, err = postgres.Open(ctx, s.URL("postgres"))
	}
	if err != nil {
		return fmt.Errorf("postgres did not accept connections in %s: %w\n%s", readyTimeout, err, s.log())
	}
	s.admin = admin
	return nil
}

func (s *Server) log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
	return string(b)
}

func (s *Server) stop() {
	if s.admin != nil {
		s.admin.Close()
	}
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGQUIT) // immediate: the data is thrown away
		<-s.exited
	}
	os.RemoveAll(s.dir)
}

// binDir finds the directory of initdb and postgres.
func binDir() (string, error) {
	if dir := os.Getenv(BinEnv); dir != "" {
		return dir, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(a) - versionOf(b) })
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errNotInstalled
}

// versionOf is the major version in /usr/lib/postgresql/<version>/bin.
func versionOf(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

// runAs is who runs the server: nobody else when not root; as root the
// postgres user (else nobody), since postgres refuses to run as root.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	var errs []string
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, fmt.Errorf("running as root and no unprivileged user to run postgres as: %s", strings.Join(errs, "; "))
}
