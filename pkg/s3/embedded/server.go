package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/versity/versitygw/auth"
	"github.com/versity/versitygw/backend/meta"
	"github.com/versity/versitygw/embedgw"

	"atcr.io/pkg/s3"
)

// Defaults for Options.
const (
	DefaultAddr   = "127.0.0.1:0"
	DefaultRegion = s3.DefaultRegion
	DefaultBucket = "atcr"

	// CredentialsFileName is the file under DataDir holding the root keys.
	CredentialsFileName = "s3-credentials.json"

	// assemblyDirName, under DataDir, holds the assembly files of uploads
	// being assembled in place (assembly.go); it is emptied on start.
	assemblyDirName = "s3-assembly"
)

// Limits handed to embedgw, which refuses to start without them.
const (
	maxConnections = 1024
	maxRequests    = 1024
	// startupTimeout caps the wait for the gateway to answer when the
	// caller's context has no deadline.
	startupTimeout = 30 * time.Second
	// bindAttempts: a port picked by listening on :0 and closing can be taken
	// by someone else before the gateway binds it; retry with a new one.
	bindAttempts = 3
)

// ErrAlreadyRunning is returned by Start while another embedded server is
// running in this process (versitygw supports one gateway per process).
var ErrAlreadyRunning = errors.New("embedded s3: a server is already running in this process (versitygw embedgw allows one per process)")

// running guards the one-gateway-per-process rule.
var running atomic.Bool

// Options configure Start. DataDir is required.
type Options struct {
	DataDir string
	// Addr is the listen address; port 0 picks a free port. Default
	// 127.0.0.1:0.
	Addr   string
	Region string // default us-east-1
	Bucket string // default "atcr"; created on start
	// ChecksumETags derives ETags from CRC64NVME checksums (versitygw's
	// DataIntegrityEtag) instead of MD5, for objects and parts. MD5 is most
	// of the CPU the server spends on every part upload and copy (a copy
	// of 64 MiB takes about half the time without it, see
	// pkg/hold/holdoci's BenchmarkCompleteSteps64MiB); nothing in ATCR reads
	// an ETag as an MD5. ETags then look like "CRC64NVME-<base64>", with no
	// "-<parts>" suffix on multipart objects.
	ChecksumETags bool
}

// Server is a running embedded S3 server.
type Server struct {
	endpoint string
	creds    s3.CredentialsFile
	prevWD   string
	root     string              // absolute: <DataDir>/s3, one directory per bucket
	meta     meta.MetadataStorer // object metadata (extended attributes or sidecar)
	backend  tunedBackend        // what the gateway serves

	cancel   context.CancelFunc
	exited   chan struct{}
	exitErr  error
	stopOnce sync.Once
	freeOnce sync.Once
}

// Start runs the gateway, waits until it answers HTTP, creates the bucket and
// returns. ctx bounds only the start-up; the server runs until Stop.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.DataDir == "" {
		return nil, errors.New("embedded s3: DataDir is required")
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("embedded s3: data dir: %w", err)
	}
	opts = withDefaults(opts)
	if !running.CompareAndSwap(false, true) {
		return nil, ErrAlreadyRunning
	}
	srv, err := start(ctx, dataDir, opts)
	if err != nil {
		running.Store(false)
		return nil, err
	}
	return srv, nil
}

func withDefaults(o Options) Options {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	if o.Bucket == "" {
		o.Bucket = DefaultBucket
	}
	return o
}

func start(ctx context.Context, dataDir string, opts Options) (*Server, error) {
	root := filepath.Join(dataDir, "s3")
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, fmt.Errorf("embedded s3: %w", err)
	}
	credPath := filepath.Join(dataDir, CredentialsFileName)
	creds, err := loadOrCreateCredentials(credPath)
	if err != nil {
		return nil, fmt.Errorf("embedded s3: %w", err)
	}
	creds.Region, creds.Bucket = opts.Region, opts.Bucket
	prevWD, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("embedded s3: working directory: %w", err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, startupTimeout)
		defer cancel()
	}

	var srv *Server
	for attempt := 1; ; attempt++ {
		addr, picked, err := resolveAddr(opts.Addr)
		if err != nil {
			return nil, fmt.Errorf("embedded s3: %w", err)
		}
		srv, err = run(ctx, root, dataDir, addr, creds, opts.ChecksumETags)
		if err == nil {
			break
		}
		_ = os.Chdir(prevWD)
		if !picked || attempt == bindAttempts || ctx.Err() != nil {
			return nil, fmt.Errorf("embedded s3 on %s: %w", addr, err)
		}
	}
	srv.prevWD = prevWD
	srv.creds.Endpoint = srv.endpoint
	if err := s3.WriteCredentialsFile(credPath, srv.creds); err != nil {
		return nil, srv.abandon(fmt.Errorf("embedded s3: %w", err))
	}
	svc, err := s3.New(ctx, srv.Params())
	if err == nil {
		err = svc.EnsureBucket(ctx)
	}
	if err != nil {
		return nil, srv.abandon(fmt.Errorf("embedded s3: create bucket %s: %w", opts.Bucket, err))
	}
	return srv, nil
}

// run starts one gateway on addr and waits until it answers.
func run(ctx context.Context, root, dataDir, addr string, creds s3.CredentialsFile, checksumETags bool) (*Server, error) {
	be, store, err := newBackend(root, dataDir, checksumETags)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	copyMeta := copyUserXattrs
	if _, sidecar := store.(meta.SideCar); sidecar {
		copyMeta = func(string, string) error { return nil } // kept by path
	}
	asm := newAssemblies(filepath.Join(dataDir, assemblyDirName), root, copyMeta, slog.Default())
	srv := &Server{endpoint: endpointURL(addr), creds: creds, root: root, meta: store, backend: tunedBackend{Posix: be, root: root, meta: store, asm: asm}, cancel: cancel, exited: make(chan struct{})}
	cfg := &embedgw.Config{
		RootUserAccess:    creds.AccessKeyID,
		RootUserSecret:    creds.SecretAccessKey,
		Region:            creds.Region,
		Ports:             []string{addr},
		MaxConnections:    maxConnections,
		MaxRequests:       maxRequests,
		MultipartMaxParts: s3.MaxParts,
		KeepAlive:         true,
		Quiet:             true,
		// The single-account IAM embedgw would build itself, minus the
		// banner it prints to stdout.
		IAMService: auth.NewIAMServiceSingle(auth.Account{
			Access: creds.AccessKeyID, Secret: creds.SecretAccessKey, Role: auth.RoleAdmin,
		}),
	}
	go func() {
		srv.exitErr = embedgw.RunVersityGW(runCtx, srv.backend, cfg)
		close(srv.exited)
	}()
	if err := srv.waitReady(ctx); err != nil {
		cancel()
		<-srv.exited
		return nil, err
	}
	return srv, nil
}

// waitReady polls the endpoint until any HTTP response comes back (an
// unsigned request gets 403, which proves the gateway is serving).
func (s *Server) waitReady(ctx context.Context) error {
	client := &http.Client{Timeout: time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.endpoint+"/", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-s.exited:
			if s.exitErr == nil {
				return errors.New("gateway exited during start-up")
			}
			return s.exitErr
		case <-ctx.Done():
			return fmt.Errorf("waiting for the gateway to answer: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Endpoint returns the server's base URL, e.g. "http://127.0.0.1:41234".
func (s *Server) Endpoint() string { return s.endpoint }

// Params returns service parameters for the server: endpoint, region,
// bucket, its root credentials and path-style addressing.
func (s *Server) Params() s3.Params { return s.creds.Params() }

// Stop shuts the gateway down and waits for it (bounded by ctx), then
// restores the working directory Start found.
func (s *Server) Stop(ctx context.Context) error {
	s.stopOnce.Do(s.cancel)
	select {
	case <-s.exited:
	case <-ctx.Done():
		return fmt.Errorf("stop embedded s3: %w", ctx.Err())
	}
	s.freeOnce.Do(func() {
		if err := os.Chdir(s.prevWD); err != nil {
			slog.Warn("embedded s3: restore working directory", "dir", s.prevWD, "error", err)
		}
		running.Store(false)
	})
	if s.exitErr != nil && !errors.Is(s.exitErr, context.Canceled) {
		return fmt.Errorf("embedded s3: gateway: %w", s.exitErr)
	}
	return nil
}

// abandon stops a server whose start-up failed after it began serving and
// returns err. The caller (Start) releases the running flag.
func (s *Server) abandon(err error) error {
	s.stopOnce.Do(s.cancel)
	<-s.exited
	s.freeOnce.Do(func() { _ = os.Chdir(s.prevWD) })
	return err
}

// resolveAddr returns addr with a concrete port. For port 0 it listens on
// an ephemeral port, notes it and closes the listener, because embedgw takes
// address strings, not listeners; picked reports that this happened.
func resolveAddr(addr string) (resolved string, pickedPort bool, err error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", false, fmt.Errorf("listen address %q: %w", addr, err)
	}
	if port != "0" {
		return addr, false, nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", false, fmt.Errorf("pick a free port on %q: %w", host, err)
	}
	defer ln.Close()
	_, picked, _ := net.SplitHostPort(ln.Addr().String())
	return net.JoinHostPort(host, picked), true, nil
}

// endpointURL turns a listen address into a URL clients on this machine can
// use: a wildcard host becomes 127.0.0.1.
func endpointURL(addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
