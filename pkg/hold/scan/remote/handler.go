package remote

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"atcr.io/internal/clientaddr"
	"atcr.io/internal/ratelimit"
	"atcr.io/pkg/atproto/xrpc"
	"atcr.io/pkg/hold/scan"
)

// Defaults and limits of the hold side.
const (
	// DefaultMaxWorkers bounds concurrent worker connections: each may
	// hold a result of up to two documents of scan.MaxDocument in memory.
	DefaultMaxWorkers = 16
	// Failed secrets: a burst of failedBurst, then one per
	// failedInterval, per client address.
	failedBurst    = 10
	failedInterval = 30 * time.Second
	failedClients  = 10_000
	// A connection is pinged every pingInterval and dropped when nothing,
	// not even a pong, arrived for pongWait.
	pingInterval = 20 * time.Second
	pongWait     = 60 * time.Second
	writeTimeout = 15 * time.Second
	// minDocumentRate is the slowest upload of a report the hold waits for.
	minDocumentRate = 256 << 10 // bytes per second
	// storageTimeout bounds a Release, which may run after the
	// connection ended.
	storageTimeout = 10 * time.Second
	// finishTimeout bounds a Finish: it stores the report and SBOM (up to
	// 64 MiB each) and writes the scan record.
	finishTimeout = 2 * time.Minute
)

// HandlerOptions configure NewHandler.
type HandlerOptions struct {
	// Dispatcher leases jobs to workers. Required.
	Dispatcher scan.Dispatcher
	// Presigner signs the blob URLs of a job. Required.
	Presigner Presigner
	// Secret is scanner.worker_secret; empty refuses every worker
	// (InvalidSecret).
	Secret string
	// HoldDID is sent in every job. Required.
	HoldDID string
	// MaxWorkers bounds concurrent connections; 0 means DefaultMaxWorkers.
	MaxWorkers int
	// Addrs names a request's client for the failed-secret limit when
	// ratelimit.ClientMiddleware did not; nil trusts loopback proxies.
	Addrs *clientaddr.Resolver
	// Now is the clock of the failed-secret limit; time.Now when nil.
	Now func() time.Time
	// Logger; slog.Default() when nil.
	Logger *slog.Logger
}

// Handler serves io.atcr.hold.subscribeScanJobs.
type Handler struct {
	opts     HandlerOptions
	log      *slog.Logger
	secret   [sha256.Size]byte
	failures *ratelimit.Limiter
	conns    atomic.Int64

	// base ends every session on Close.
	base    context.Context
	stop    context.CancelFunc
	running sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	sessions map[string]*session // by worker name
}

var upgrader = websocket.Upgrader{
	ReadBufferSize:  32 << 10,
	WriteBufferSize: 32 << 10,
	// Workers are programs that authenticate with a secret, not
	// browsers carrying cookies: no origin to check.
	CheckOrigin: func(*http.Request) bool { return true },
}

// NewHandler returns the subscription's handler; Close it before the
// Dispatcher closes.
func NewHandler(opts HandlerOptions) (*Handler, error) {
	if opts.Dispatcher == nil || opts.Presigner == nil || opts.HoldDID == "" {
		return nil, errors.New("remote: Dispatcher, Presigner and HoldDID are required")
	}
	if opts.MaxWorkers <= 0 {
		opts.MaxWorkers = DefaultMaxWorkers
	}
	failures, err := ratelimit.New(ratelimit.Config{
		Rate: 1 / failedInterval.Seconds(), Burst: failedBurst, MaxKeys: failedClients, Now: opts.Now,
	})
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	base, stop := context.WithCancel(context.Background())
	return &Handler{
		opts: opts, log: log.With("component", "scan-workers"),
		secret: sha256.Sum256([]byte(opts.Secret)), failures: failures,
		base: base, stop: stop, sessions: map[string]*session{},
	}, nil
}

// Routes lists the subscription for the hold's router. It is Public: the
// handler checks the worker secret itself, since workers have no DID.
func (h *Handler) Routes() []xrpc.Route {
	return []xrpc.Route{{Method: http.MethodGet, NSID: NSID, Auth: xrpc.Public, Handler: h}}
}

// Close ends every connection (their jobs are released) and waits for
// them.
func (h *Handler) Close() error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.stop()
	h.running.Wait()
	return nil
}

// enter counts a session in, unless the handler is closed.
func (h *Handler) enter() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.running.Add(1)
	return true
}

// ServeHTTP authenticates the worker, upgrades and runs its session.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	client, ok := ratelimit.ClientFrom(r.Context())
	if !ok {
		client = clientaddr.Key(h.opts.Addrs.Addr(r)).String()
	}
	if blocked, wait := h.failures.Blocked(client); blocked {
		xrpc.WriteError(w, xrpc.RateLimitExceeded("too many failed scan worker secrets from this address", wait))
		return
	}
	if !h.secretOK(r) {
		h.failures.Allow(client)
		h.log.Warn("scan worker refused: wrong or missing secret", "client", client)
		xrpc.WriteError(w, xrpc.NewError(http.StatusUnauthorized, "InvalidSecret", "a valid scanner secret is required"))
		return
	}
	q := r.URL.Query()
	worker := q.Get("worker")
	if !ValidWorkerName(worker) {
		xrpc.WriteError(w, xrpc.InvalidRequest("worker must be 1 to 64 of A-Z a-z 0-9 . _ - starting with a letter or digit"))
		return
	}
	cursor := int64(-1)
	if s := q.Get("cursor"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < -1 {
			xrpc.WriteError(w, xrpc.InvalidRequest("cursor must be an integer, -1 or more"))
			return
		}
		cursor = n
	}
	if h.conns.Add(1) > int64(h.opts.MaxWorkers) {
		h.conns.Add(-1)
		xrpc.WriteError(w, xrpc.RateLimitExceeded("too many scan workers connected; try again later", pingInterval))
		return
	}
	defer h.conns.Add(-1)
	if !h.enter() {
		xrpc.WriteError(w, xrpc.ServiceUnavailable("the hold is shutting down", pingInterval))
		return
	}
	defer h.running.Done()
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered with an HTTP error
	}
	defer conn.Close()
	s := newSession(h, conn, worker)
	defer s.cancel()
	stopOnClose := context.AfterFunc(h.base, s.cancel)
	defer stopOnClose()
	resume := h.register(s, cursor)
	defer h.unregister(s)
	h.log.Info("scan worker connected", "worker", worker, "cursor", cursor, "client", client)
	err = s.run(resume)
	h.log.Info("scan worker disconnected", "worker", worker, "reason", err)
}

// secretOK compares the presented secret with the configured one in
// constant time (of their hashes, so the length leaks nothing either). An
// empty configured secret matches nothing.
func (h *Handler) secretOK(r *http.Request) bool {
	if h.opts.Secret == "" {
		return false
	}
	got := r.Header.Get(SecretHeader)
	if got == "" {
		got = r.URL.Query().Get("secret")
	}
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], h.secret[:]) == 1
}

// register makes s the connection of its worker name. A previous one is
// superseded: if the worker says (cursor) it was running that
// connection's job, the job moves to s with its lease and is returned to
// be sent again; otherwise it goes back to the queue.
//
// All of it happens under h.mu, so a third connection of the name cannot
// come between and lose the job.
func (h *Handler) register(s *session, cursor int64) *scan.Job {
	h.mu.Lock()
	old := h.sessions[s.worker]
	h.sessions[s.worker] = s
	var job *scan.Job
	if old != nil {
		job = old.supersede()
	}
	if job != nil && cursor == job.ID {
		s.adopt(*job)
		h.mu.Unlock()
		return job
	}
	h.mu.Unlock()
	if job != nil {
		h.release(s.lease, job.ID, "superseded by a connection that does not resume it")
	}
	return nil
}

// unregister forgets s and releases the job it still holds.
func (h *Handler) unregister(s *session) {
	h.mu.Lock()
	if h.sessions[s.worker] == s {
		delete(h.sessions, s.worker)
	}
	h.mu.Unlock()
	if job := s.detach(); job != nil {
		h.release(s.lease, job.ID, "connection ended")
	}
}

// release gives a job back to the queue; it runs when the connection may
// be gone, so on a context of its own.
// attemptFailer is a Dispatcher that can count a failed attempt (the
// hold's scan.Queue): a worker only sends #release when its scanner failed
// or it refused the job, and a job that fails on every worker must end as
// failed after its attempts, not cycle between workers for ever.
type attemptFailer interface {
	Fail(ctx context.Context, worker string, jobID int64, reason string) error
}

// giveBack handles a worker's #release: a failed attempt where the
// dispatcher counts attempts, a plain release otherwise.
func (h *Handler) giveBack(lease string, id int64, why string) {
	f, ok := h.opts.Dispatcher.(attemptFailer)
	h.settle(lease, id, why, ok, func(ctx context.Context) error {
		if ok {
			return f.Fail(ctx, lease, id, why)
		}
		return h.opts.Dispatcher.Release(ctx, lease, id)
	})
}

// release gives a job back to the queue without counting an attempt.
func (h *Handler) release(lease string, id int64, why string) {
	h.settle(lease, id, why, false, func(ctx context.Context) error {
		return h.opts.Dispatcher.Release(ctx, lease, id)
	})
}

// settle runs a release or failed attempt with its own deadline and logs
// the outcome; a job that went to another worker meanwhile is only noted.
func (h *Handler) settle(lease string, id int64, why string, failed bool, do func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), storageTimeout)
	defer cancel()
	err := do(ctx)
	switch {
	case errors.Is(err, scan.ErrNotLeased):
		h.log.Info("scan job already gone from worker", "worker", lease, "job", id)
	case err != nil:
		// The lease expires and the job is retried then.
		h.log.Error("give scan job back", "worker", lease, "job", id, "failed_attempt", failed, "err", err)
	case failed:
		h.log.Info("scan attempt failed on worker; retried later", "worker", lease, "job", id, "why", why)
	default:
		h.log.Info("scan job released", "worker", lease, "job", id, "why", why)
	}
}
