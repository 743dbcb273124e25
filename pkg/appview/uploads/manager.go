package uploads

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"atcr.io/pkg/appview/holdclient"
	"atcr.io/pkg/appview/registry"
)

// Defaults applied when the matching Options field is zero.
const (
	DefaultPartSize          = 8 << 20
	DefaultMaxBufferedBytes  = 1 << 30
	DefaultPartWait          = 30 * time.Second
	DefaultUploadTTL         = time.Hour
	DefaultMaxUploads        = 10_000
	DefaultMaxUploadsPerUser = 100
	DefaultRedisPrefix       = "atcr:"
	DefaultLockTTL           = 15 * time.Second
	// MinPartSize is S3's smallest part (all but the last).
	MinPartSize = 5 << 20
	// MaxPartSize bounds one part buffer.
	MaxPartSize = 256 << 20
	// MaxParts is S3's part count limit per multipart upload.
	MaxParts = 10_000
)

// Options configures New.
type Options struct {
	// Hold calls the holds. Required.
	Hold *holdclient.Client
	// PushHold names the hold an owner's uploads go to, to be called as
	// the owner. Required.
	PushHold func(ctx context.Context, owner registry.Owner) (holdclient.Hold, error)
	// PartSize is the multipart part size and the size of each part
	// buffer. Default 8 MiB (the config's uploads.part_size default); at
	// least MinPartSize, at most MaxPartSize. Blobs up to MaxParts parts
	// can be pushed (78 GiB at 8 MiB).
	PartSize int
	// MaxBufferedBytes bounds the memory all sessions hold together: part
	// buffers being filled and sent, and the remainders (under
	// MinPartSize, counted by size) idle sessions keep. Default 1 GiB.
	MaxBufferedBytes int64
	// MaxBufferedBytesPerUser bounds the memory one owner's sessions hold
	// together, so one account cannot take what other users' pushes
	// need. Default a quarter of MaxBufferedBytes, but at least the three
	// part buffers one streaming chunk uses (and at most MaxBufferedBytes).
	MaxBufferedBytesPerUser int64
	// PartWait is how long a chunk waits for buffer memory before the
	// client is told to retry later (429). Default 30s.
	PartWait time.Duration
	// UploadTTL: a session idle this long is aborted on the hold. Default 1h.
	UploadTTL time.Duration
	// MaxUploads and MaxUploadsPerUser bound the open sessions.
	// Defaults 10000 and 100.
	MaxUploads, MaxUploadsPerUser int
	// Redis, when set, keeps the sessions in Redis, shared by every
	// AppView using it: any of them continues a session another opened.
	// nil keeps them in this process's memory. See docs/shared-state.md.
	Redis redis.UniversalClient
	// RedisPrefix starts every key the sessions use. Default "atcr:".
	RedisPrefix string
	// MaxParkedBytesPerUser bounds, with Redis, what one owner's sessions
	// keep in Redis between requests (remainders under MinPartSize; up to
	// a part after a cut PATCH): each PATCH reserves a part's worth before
	// it reads, waiting up to PartWait for the owner's other sessions to
	// finish, then is refused (429); PUT and DELETE go on, and free their
	// share. Without it one account could pin up to MaxUploadsPerUser
	// parts of Redis and, at maxmemory, stop every user's uploads. Default
	// MaxBufferedBytesPerUser, the same share of upload memory one owner
	// has on a single AppView; at least PartSize.
	MaxParkedBytesPerUser int64
	// LockTTL is how long a session's Redis lock outlives the AppView
	// holding it (it is renewed every LockTTL/3 while a request runs): how
	// long a session whose AppView died stays locked. Default 15s.
	LockTTL time.Duration
	// Logger defaults to slog.Default(); Now to time.Now.
	Logger *slog.Logger
	Now    func() time.Time
}

// Manager runs the AppView's upload sessions. It is safe for concurrent
// use; create one per process.
type Manager struct {
	opts   Options
	hold   *holdclient.Client
	log    *slog.Logger
	now    func() time.Time
	store  sessionStore
	budget *memBudget

	background sync.WaitGroup // aborts of expired sessions
}

// New returns a Manager.
func New(opts Options) (*Manager, error) {
	if opts.Hold == nil || opts.PushHold == nil {
		return nil, errors.New("uploads: Options.Hold and Options.PushHold are required")
	}
	opts = withDefaults(opts)
	if opts.PartSize < MinPartSize || opts.PartSize > MaxPartSize {
		return nil, fmt.Errorf("uploads: PartSize %d outside %d..%d", opts.PartSize, MinPartSize, MaxPartSize)
	}
	if opts.MaxBufferedBytes < int64(opts.PartSize) {
		return nil, fmt.Errorf("uploads: MaxBufferedBytes %d is less than one part (%d)", opts.MaxBufferedBytes, opts.PartSize)
	}
	var store sessionStore = newMemStore()
	if opts.Redis != nil {
		store = newRedisStore(opts.Redis, opts)
	}
	return &Manager{
		opts:   opts,
		hold:   opts.Hold,
		log:    opts.Logger,
		now:    opts.Now,
		store:  store,
		budget: newMemBudget(opts.PartSize, opts.MaxBufferedBytes, opts.MaxBufferedBytesPerUser, opts.PartWait),
	}, nil
}

func withDefaults(o Options) Options {
	if o.PartSize <= 0 {
		o.PartSize = DefaultPartSize
	}
	if o.MaxBufferedBytes <= 0 {
		o.MaxBufferedBytes = DefaultMaxBufferedBytes
	}
	if o.MaxBufferedBytesPerUser <= 0 {
		o.MaxBufferedBytesPerUser = max(o.MaxBufferedBytes/4, int64(partsInFlight+1)*int64(o.PartSize))
	}
	o.MaxBufferedBytesPerUser = min(o.MaxBufferedBytesPerUser, o.MaxBufferedBytes)
	if o.PartWait <= 0 {
		o.PartWait = DefaultPartWait
	}
	if o.UploadTTL <= 0 {
		o.UploadTTL = DefaultUploadTTL
	}
	if o.MaxUploads <= 0 {
		o.MaxUploads = DefaultMaxUploads
	}
	if o.MaxParkedBytesPerUser <= 0 {
		o.MaxParkedBytesPerUser = o.MaxBufferedBytesPerUser
	}
	o.MaxParkedBytesPerUser = max(o.MaxParkedBytesPerUser, int64(o.PartSize))
	if o.MaxUploadsPerUser <= 0 {
		o.MaxUploadsPerUser = DefaultMaxUploadsPerUser
	}
	if o.RedisPrefix == "" {
		o.RedisPrefix = DefaultRedisPrefix
	}
	if o.LockTTL <= 0 {
		o.LockTTL = DefaultLockTTL
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// BufferedBytes reports the memory upload sessions hold now: part buffers
// being filled or sent, and the remainders of idle sessions, each counted
// by its capacity. It never exceeds Options.MaxBufferedBytes.
func (m *Manager) BufferedBytes() int64 { return m.budget.used.Load() }

// closeConcurrency bounds the aborts Close runs at once.
const closeConcurrency = 16

// Drain makes chunks waiting for upload memory give up at once (429, retry
// later) instead of waiting up to PartWait, so a graceful shutdown is not
// held up by them. Chunks already streaming go on. Call it when shutdown
// begins, before the HTTP server waits for in-flight requests.
func (m *Manager) Drain() { m.budget.drain() }

// Close aborts every open upload session on its hold (an AppView restart
// loses them anyway; clients start them again), at most closeConcurrency at
// a time, and waits for aborts still running in the background. Sessions a
// request still holds when ctx ends are left to the hold's own expiry.
// Sessions in Redis are left alone: another AppView continues them.
func (m *Manager) Close(ctx context.Context) error {
	m.Drain()
	var g errgroup.Group
	g.SetLimit(closeConcurrency)
	for _, sess := range m.store.open() {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			select {
			case sess.lock <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			defer func() { <-sess.lock }()
			if m.dropSession(ctx, sess) {
				m.abortSession(ctx, sess)
			}
			return nil
		})
	}
	_ = g.Wait()
	done := make(chan struct{})
	go func() { m.background.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	if left := len(m.store.open()); ctx.Err() != nil {
		return fmt.Errorf("uploads: close: %d sessions left to the holds' expiry: %w", left, ctx.Err())
	}
	return nil
}
