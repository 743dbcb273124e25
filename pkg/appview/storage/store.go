package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"

	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/atproto/safehttp"
	"atcr.io/pkg/oci"
)

// Sessions is what the store needs from pkg/appview/pdssession: an API
// client authenticated as the user (to write records and upload blobs to
// their PDS) and service-auth tokens to call a hold as the user.
type Sessions interface {
	Client(ctx context.Context, did syntax.DID) (*atclient.APIClient, error)
	ServiceToken(ctx context.Context, did, aud syntax.DID, lxm syntax.NSID) (string, error)
}

// Defaults applied when the matching Options field is zero.
const (
	DefaultPartSize           = 16 << 20
	DefaultMaxBufferedBytes   = 1 << 30
	DefaultPartWait           = 30 * time.Second
	DefaultUploadTTL          = time.Hour
	DefaultMaxUploads         = 10_000
	DefaultMaxUploadsPerUser  = 100
	DefaultIndexTTL           = 10 * time.Minute
	DefaultTagTTL             = 30 * time.Second
	DefaultHoldTTL            = 5 * time.Minute
	DefaultManifestCacheBytes = 64 << 20
	DefaultMaxIndexes         = 1_000
	DefaultMaxRecords         = 10_000
	DefaultMaxReferences      = 1_000
	DefaultNotifyTimeout      = 10 * time.Second
	// MinPartSize is S3's smallest part (all but the last).
	MinPartSize = 5 << 20
	// MaxPartSize bounds one part buffer.
	MaxPartSize = 256 << 20
	// MaxParts is S3's part count limit per multipart upload.
	MaxParts = 10_000
)

// Options configures New.
type Options struct {
	// Directory resolves handles, DIDs and hold DIDs. Required.
	Directory identity.Directory
	// Sessions writes as the user and mints hold tokens. Required.
	Sessions Sessions
	// NoSessionErr is the error Sessions wraps when the user has no PDS
	// session (pdssession.ErrNoSession); the registry answers it with 401.
	NoSessionErr error
	// DefaultHold is the hold of users whose profile and legacy records
	// name none (config server.default_hold_did).
	DefaultHold syntax.DID
	// Tombstones persists the blobs unlinked from a repository by a blob
	// DELETE (*db.DB). Required: unlinks must survive a restart.
	Tombstones Tombstones
	// HTTP is the base setting of the guarded clients built for PDS reads,
	// hold XRPC and presigned part uploads (network switches, RootCAs);
	// timeouts and body limits are set per use.
	HTTP safehttp.Options
	// PartSize is the multipart part size and the size of each pooled part
	// buffer. Default 16 MiB; at least MinPartSize, at most MaxPartSize.
	// Blobs up to MaxParts parts can be pushed (156 GiB at 16 MiB).
	PartSize int
	// MaxBufferedBytes bounds the memory all sessions hold together: part
	// buffers being filled and sent, and the remainders (under
	// MinPartSize, counted by size) idle sessions keep. Default 1 GiB.
	MaxBufferedBytes int64
	// PartWait is how long a chunk waits for buffer memory before the
	// client is told to retry later (429). Default 30s.
	PartWait time.Duration
	// UploadTTL: a session idle this long is aborted on the hold. Default 1h.
	UploadTTL time.Duration
	// MaxUploads and MaxUploadsPerUser bound the open sessions.
	// Defaults 10000 and 100.
	MaxUploads, MaxUploadsPerUser int
	// IndexTTL: a repository index is listed again from the PDS after this.
	// Default 10m.
	IndexTTL time.Duration
	// TagTTL: tag → digest answers are reused this long. Default 30s.
	TagTTL time.Duration
	// HoldTTL: a user's push hold is reused this long. Default 5m.
	HoldTTL time.Duration
	// ManifestCacheBytes bounds the cache of manifest bytes. Default 64 MiB.
	ManifestCacheBytes int64
	// MaxIndexes bounds the DIDs whose index is kept. Default 1000.
	MaxIndexes int
	// MaxRecords bounds the records of one collection read into one index.
	// Default 10000.
	MaxRecords int
	// MaxReferences bounds the blobs and children a manifest push checks.
	// Default 1000.
	MaxReferences int
	// NotifyTimeout bounds io.atcr.hold.notifyManifest and
	// notifyManifestDeleted (with the hold's resolution). Default 10s.
	NotifyTimeout time.Duration
	// Logger defaults to slog.Default(); Now to time.Now.
	Logger *slog.Logger
	Now    func() time.Time
}

// Store implements the registry's services over PDS records and holds. It
// is safe for concurrent use; create one per process.
type Store struct {
	opts       Options
	dir        identity.Directory
	sessions   Sessions
	tombstones Tombstones
	log        *slog.Logger
	now        func() time.Time

	pds  *pdsReader
	hold *holdClient
	tids *syntax.TIDClock

	pushHolds *ttlCache[syntax.DID, syntax.DID]
	tagCache  *ttlCache[tagKey, oci.Digest]
	stats     *ttlCache[blobKey, int64]
	presigned *ttlCache[blobKey, string]
	manifests *sizedCache[manifestKey, cachedManifest]
	indexes   *indexCache

	uploads *uploadTable
	budget  *memBudget

	background sync.WaitGroup // aborts of expired sessions
	flight     singleflight.Group
}

var (
	_ registry.Resolver        = (*Store)(nil)
	_ registry.ManifestService = (*Store)(nil)
	_ registry.TagService      = (*Store)(nil)
	_ registry.ReferrerService = (*Store)(nil)
	_ registry.CatalogService  = (*Store)(nil)
	_ registry.BlobService     = (*Store)(nil)
	_ registry.UploadService   = (*Store)(nil)
)

// New returns a Store.
func New(opts Options) (*Store, error) {
	if opts.Directory == nil || opts.Sessions == nil || opts.Tombstones == nil {
		return nil, errors.New("storage: Options.Directory, Options.Sessions and Options.Tombstones are required")
	}
	opts = withDefaults(opts)
	if opts.PartSize < MinPartSize || opts.PartSize > MaxPartSize {
		return nil, fmt.Errorf("storage: PartSize %d outside %d..%d", opts.PartSize, MinPartSize, MaxPartSize)
	}
	if opts.MaxBufferedBytes < int64(opts.PartSize) {
		return nil, fmt.Errorf("storage: MaxBufferedBytes %d is less than one part (%d)", opts.MaxBufferedBytes, opts.PartSize)
	}
	s := &Store{
		opts:       opts,
		dir:        opts.Directory,
		sessions:   opts.Sessions,
		tombstones: opts.Tombstones,
		log:        opts.Logger,
		now:        opts.Now,
		tids:       syntax.NewTIDClock(0),
		pushHolds:  newTTLCache[syntax.DID, syntax.DID](100_000, opts.HoldTTL, opts.Now),
		tagCache:   newTTLCache[tagKey, oci.Digest](100_000, opts.TagTTL, opts.Now),
		stats:      newTTLCache[blobKey, int64](100_000, statTTL, opts.Now),
		presigned:  newTTLCache[blobKey, string](100_000, maxPresignCache, opts.Now),
		manifests:  newSizedCache[manifestKey](opts.ManifestCacheBytes, func(m cachedManifest) int64 { return int64(len(m.body)) }),
		indexes:    newIndexCache(opts.MaxIndexes),
		uploads:    newUploadTable(),
		budget:     newMemBudget(opts.PartSize, opts.MaxBufferedBytes, opts.PartWait),
	}
	s.pds = newPDSReader(opts.HTTP)
	s.hold = newHoldClient(opts.HTTP, opts.Sessions, s.sessionErr)
	return s, nil
}

func withDefaults(o Options) Options {
	setDuration := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	setInt := func(n *int, def int) {
		if *n <= 0 {
			*n = def
		}
	}
	setInt(&o.PartSize, DefaultPartSize)
	if o.MaxBufferedBytes <= 0 {
		o.MaxBufferedBytes = DefaultMaxBufferedBytes
	}
	if o.ManifestCacheBytes <= 0 {
		o.ManifestCacheBytes = DefaultManifestCacheBytes
	}
	setDuration(&o.PartWait, DefaultPartWait)
	setDuration(&o.UploadTTL, DefaultUploadTTL)
	setDuration(&o.IndexTTL, DefaultIndexTTL)
	setDuration(&o.TagTTL, DefaultTagTTL)
	setDuration(&o.HoldTTL, DefaultHoldTTL)
	setDuration(&o.NotifyTimeout, DefaultNotifyTimeout)
	setInt(&o.MaxUploads, DefaultMaxUploads)
	setInt(&o.MaxUploadsPerUser, DefaultMaxUploadsPerUser)
	setInt(&o.MaxIndexes, DefaultMaxIndexes)
	setInt(&o.MaxRecords, DefaultMaxRecords)
	setInt(&o.MaxReferences, DefaultMaxReferences)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// closeConcurrency bounds the aborts Close runs at once.
const closeConcurrency = 16

// Drain makes chunks waiting for upload memory give up at once (429, retry
// later) instead of waiting up to PartWait, so a graceful shutdown is not
// held up by them. Chunks already streaming go on. Call it when shutdown
// begins, before the HTTP server waits for in-flight requests.
func (s *Store) Drain() { s.budget.drain() }

// Close aborts every open upload session on its hold (an AppView restart
// loses them anyway; clients start them again), at most closeConcurrency at
// a time, and waits for aborts still running in the background. Sessions a
// request still holds when ctx ends are left to the hold's own expiry.
func (s *Store) Close(ctx context.Context) error {
	s.Drain()
	var g errgroup.Group
	g.SetLimit(closeConcurrency)
	for _, sess := range s.uploads.snapshot() {
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
			if s.dropSession(sess) {
				s.abortSession(ctx, sess)
			}
			return nil
		})
	}
	_ = g.Wait()
	done := make(chan struct{})
	go func() { s.background.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	if left := len(s.uploads.snapshot()); ctx.Err() != nil {
		return fmt.Errorf("storage: close: %d sessions left to the holds' expiry: %w", left, ctx.Err())
	}
	return nil
}

// sessionErr classifies an error of Sessions: no session is the user's to
// fix (401), anything else is an upstream failure.
func (s *Store) sessionErr(did syntax.DID, err error) error {
	if s.opts.NoSessionErr != nil && errors.Is(err, s.opts.NoSessionErr) {
		return fmt.Errorf("session of %s: %w: %w", did, registry.ErrNoSession, err)
	}
	return fmt.Errorf("session of %s: %w: %w", did, registry.ErrPDSUnavailable, err)
}

// userClient returns the owner's authenticated PDS client.
func (s *Store) userClient(ctx context.Context, did syntax.DID) (*atclient.APIClient, error) {
	c, err := s.sessions.Client(ctx, did)
	if err != nil {
		return nil, s.sessionErr(did, err)
	}
	return c, nil
}

// guardedClient builds a safehttp client from the base options with the
// given limits; redirect handling is the caller's.
func guardedClient(base safehttp.Options, timeout time.Duration, maxBody int64) *http.Client {
	o := base
	o.Timeout = timeout
	o.MaxResponseBytes = maxBody
	return safehttp.New(o)
}
