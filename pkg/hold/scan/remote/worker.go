package remote

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/hold/scan"
)

// Worker defaults.
const (
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = time.Minute
	// DefaultJobTimeout matches scanner.job_timeout's default: past it the
	// hold has given the job to someone else anyway.
	DefaultJobTimeout = 30 * time.Minute
	handshakeTimeout  = 15 * time.Second
)

// WorkerOptions configure RunWorker.
type WorkerOptions struct {
	// HoldURL is the hold's base URL: http(s)://host[:port] (ws/wss are
	// derived from it) or ws(s)://host[:port]. Required.
	HoldURL string
	// Secret is the hold's scanner.worker_secret. Required.
	Secret string
	// Name names the worker to the hold; the host name when empty.
	Name string
	// Scanner scans the jobs. Required.
	Scanner scan.Scanner
	// HTTPClient reads the presigned blob URLs; DefaultBlobClient() when
	// nil.
	HTTPClient *http.Client
	// Dialer connects the WebSocket; one with a 15 s handshake timeout
	// when nil.
	Dialer *websocket.Dialer
	// MinBackoff and MaxBackoff bound the wait before reconnecting; it
	// doubles after each failed connection and resets after a job.
	MinBackoff, MaxBackoff time.Duration
	// JobTimeout bounds one scan; DefaultJobTimeout when 0.
	JobTimeout time.Duration
	// Logger; slog.Default() when nil.
	Logger *slog.Logger
}

// ErrInvalidSecret is what RunWorker returns when the hold refuses the
// secret: retrying cannot help.
var ErrInvalidSecret = errors.New("the hold refused the scanner secret (InvalidSecret)")

// RunWorker scans the jobs of one hold until ctx ends (then it returns
// nil) or the hold refuses the worker for good (ErrInvalidSecret, a
// malformed name). Connection failures are retried with backoff.
func RunWorker(ctx context.Context, opts WorkerOptions) error {
	w, err := newWorker(opts)
	if err != nil {
		return err
	}
	defer func() {
		if w.scan != nil {
			w.scan.stop()
		}
	}()
	backoff := w.opts.MinBackoff
	for {
		worked, err := w.connect(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var fatal *fatalError
		if errors.As(err, &fatal) {
			return fatal.err
		}
		if worked {
			backoff = w.opts.MinBackoff
		}
		w.log.Warn("scan worker connection ended; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, w.opts.MaxBackoff)
	}
}

// fatalError ends RunWorker.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }

// worker is RunWorker's state across connections.
type worker struct {
	opts   WorkerOptions
	log    *slog.Logger
	target *url.URL
	cursor int64    // the last job ID seen; -1 before the first
	scan   *scanRun // the job being scanned or not yet answered
}

func newWorker(opts WorkerOptions) (*worker, error) {
	if opts.Scanner == nil || opts.Secret == "" {
		return nil, errors.New("remote: Scanner and Secret are required")
	}
	target, err := subscribeURL(opts.HoldURL)
	if err != nil {
		return nil, err
	}
	if opts.Name == "" {
		host, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("remote: worker name: %w", err)
		}
		opts.Name = host
	}
	if !ValidWorkerName(opts.Name) {
		return nil, fmt.Errorf("remote: worker name %q: 1 to 64 of A-Z a-z 0-9 . _ - starting with a letter or digit", opts.Name)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = DefaultBlobClient()
	}
	if opts.Dialer == nil {
		opts.Dialer = &websocket.Dialer{HandshakeTimeout: handshakeTimeout, Proxy: http.ProxyFromEnvironment}
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(DefaultMaxBackoff, opts.MinBackoff)
	}
	if opts.JobTimeout <= 0 {
		opts.JobTimeout = DefaultJobTimeout
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &worker{opts: opts, log: log.With("worker", opts.Name), target: target, cursor: -1}, nil
}

// subscribeURL turns the hold's base URL into the subscription's ws(s)
// URL.
func subscribeURL(hold string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(hold))
	if err != nil {
		return nil, fmt.Errorf("remote: hold URL: %w", err)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return nil, fmt.Errorf("remote: hold URL %q: want http(s):// or ws(s)://", hold)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("remote: hold URL %q: want scheme, host and port only", hold)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/xrpc/" + atcr.HoldSubscribeScanJobsNSID
	return u, nil
}

// connect runs one connection; worked says it answered a job.
func (w *worker) connect(ctx context.Context) (worked bool, err error) {
	u := *w.target
	q := url.Values{"worker": {w.opts.Name}, "cursor": {strconv.FormatInt(w.cursor, 10)}}
	u.RawQuery = q.Encode()
	hdr := http.Header{SecretHeader: {w.opts.Secret}}
	conn, resp, err := w.opts.Dialer.DialContext(ctx, u.String(), hdr)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		if resp != nil {
			switch resp.StatusCode {
			case http.StatusUnauthorized:
				return false, &fatalError{ErrInvalidSecret}
			case http.StatusBadRequest:
				return false, &fatalError{fmt.Errorf("the hold refused the subscription: %s", resp.Status)}
			}
			return false, fmt.Errorf("connect: %s", resp.Status)
		}
		return false, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	w.log.Info("scan worker connected", "hold", w.target.Host, "cursor", w.cursor)

	c := newWorkerConn(ctx, conn)
	defer c.cancel()
	go c.read()
	for {
		job, err := c.next()
		if err != nil {
			return worked, err
		}
		w.cursor = job.ID
		if err := w.answer(ctx, c, job); err != nil {
			return worked, err
		}
		worked = true
	}
}

// answer scans one job, or takes the result of the scan of it still
// running (or done) from before a reconnection, and sends the result. A
// scanner error is answered with #release and ends the connection, so the
// worker reconnects after a backoff instead of spinning through the queue.
func (w *worker) answer(ctx context.Context, c *workerConn, m *atcr.HoldSubscribeScanJobs_ScanJob) error {
	log := w.log.With("job", m.ID, "manifest", m.ManifestDigest, "attempt", m.Attempt)
	if w.scan != nil && w.scan.id != m.ID {
		// The hold gave the job of the interrupted scan to someone else.
		w.scan.stop()
		w.scan = nil
	}
	if w.scan == nil {
		img, urls, err := jobFromMessage(m)
		if err != nil {
			// The hold sent something this worker will not act on; another
			// worker (or a fixed hold) may.
			log.Error("scan job refused", "err", err)
			return w.release(c, m.ID, "worker refused the job: "+err.Error())
		}
		w.scan = w.start(ctx, m.ID, img, &URLBlobs{client: w.opts.HTTPClient, now: time.Now, urls: urls})
	} else {
		log.Info("scan job resumed after reconnecting")
	}
	select {
	case <-w.scan.done:
	case <-c.done:
		// The connection broke; the scan goes on, and the next connection
		// resumes it if the hold offers the same job again.
		return c.err
	}
	sc := w.scan
	if sc.err != nil {
		w.scan = nil
		log.Warn("scan did not finish; giving the job back", "err", sc.err)
		return w.release(c, m.ID, sc.err.Error())
	}
	if err := c.sendResult(m.ID, sc.res); err != nil {
		return err // kept: a resumed job is answered from it
	}
	w.scan = nil
	log.Info("scan job answered", "status", sc.res.Status, "took", sc.took.Round(time.Millisecond))
	return nil
}

// scanRun is a scan in progress. It belongs to the worker, not to a
// connection, so a dropped connection does not throw its work away.
type scanRun struct {
	id     int64
	cancel context.CancelFunc
	done   chan struct{}
	// Set before done closes.
	res  scan.Result
	err  error
	took time.Duration
}

// start scans img in the background, bounded by JobTimeout.
func (w *worker) start(ctx context.Context, id int64, img scan.Image, blobs scan.Blobs) *scanRun {
	ctx, cancel := context.WithTimeout(ctx, w.opts.JobTimeout)
	sc := &scanRun{id: id, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(sc.done)
		defer cancel()
		began := time.Now()
		res, err := w.opts.Scanner.Scan(ctx, img, blobs)
		sc.took = time.Since(began)
		if err == nil && (len(res.Report) > scan.MaxDocument || len(res.SBOM) > scan.MaxDocument) {
			res = scan.Result{Status: scan.StatusFailed, Reason: "the report or SBOM exceeds 64 MiB", ScannerVersion: res.ScannerVersion, DBBuilt: res.DBBuilt}
		}
		res.Reason = truncate(res.Reason, maxReason)
		sc.res, sc.err = res, err
	}()
	return sc
}

// stop cancels the scan and waits for the Scanner to return.
func (sc *scanRun) stop() {
	sc.cancel()
	<-sc.done
}

// release gives the job back and ends the connection.
func (w *worker) release(c *workerConn, id int64, reason string) error {
	err := c.send(typeRelease, &atcr.HoldSubscribeScanJobs_Release{ID: id, Reason: truncate(reason, maxReason)})
	if err != nil {
		return err
	}
	closeConn(c.conn, websocket.CloseNormalClosure, "released a job")
	return fmt.Errorf("released job %d: %s", id, reason)
}
