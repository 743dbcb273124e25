package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/semaphore"
	"golang.org/x/sync/singleflight"

	"atcr.io/pkg/appview/bytecache"
	"atcr.io/pkg/appview/holdclient"
	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/appview/uploads"
	"atcr.io/pkg/atproto/safehttp"
)

// ActAs is how the store acts as a user (pkg/appview/actas decides
// whether through the user's OAuth session or app-password session): an
// API client authenticated as the user (to write records and upload blobs
// to their PDS) and service tokens to call a hold as the user.
type ActAs interface {
	Client(ctx context.Context, did syntax.DID) (*atclient.APIClient, error)
	ServiceToken(ctx context.Context, did, aud syntax.DID, lxm syntax.NSID) (string, error)
}

// Defaults applied when the matching Options field is zero (the upload
// options' defaults are pkg/appview/uploads').
const (
	DefaultIndexTTL           = 10 * time.Minute
	DefaultTagTTL             = 30 * time.Second
	DefaultHoldTTL            = 5 * time.Minute
	DefaultManifestCacheBytes = 64 << 20
	DefaultLookupCacheBytes   = 16 << 20
	DefaultIndexBytes         = 256 << 20
	DefaultIndexAccountBytes  = 32 << 20
	DefaultIndexLoads         = 32
	DefaultMaxIndexes         = 1_000
	DefaultMaxRecords         = 10_000
	DefaultMaxReferences      = 1_000
	DefaultNotifyTimeout      = 10 * time.Second
	DefaultNotifyBackoff      = 500 * time.Millisecond
)

// Options configures New.
type Options struct {
	// Directory resolves handles, DIDs and hold DIDs. Required.
	Directory identity.Directory
	// ActAs writes as the user and mints service tokens. Required.
	ActAs ActAs
	// NoSessionErr is the error ActAs wraps when the AppView holds no
	// session of the user (actas.ErrNoSession); the registry answers it
	// with 401.
	NoSessionErr error
	// DefaultHold is the hold of users whose profile and legacy records
	// name none (config server.default_hold_did).
	DefaultHold syntax.DID
	// Tombstones persists the blobs unlinked from a repository by a blob
	// DELETE (*db.DB). Required: unlinks must survive a restart.
	Tombstones Tombstones
	// Successors turns a retired push hold into its successor (the
	// index's captain records); nil: pushes go to the discovered hold.
	Successors HoldSuccessors
	// IndexHints finds manifests and tags of accounts whose repository
	// index was truncated at its bound (indexhints.go); nil: such a
	// manifest is found only by its tag, and tag lists stop at the bound.
	IndexHints IndexHints
	// Indexer is told of the records this AppView writes and deletes, and
	// of pushes (the UI index); nil: nothing is indexed here.
	Indexer Indexer
	// HTTP is the base setting of the guarded clients built for PDS reads,
	// hold XRPC and presigned part uploads (network switches, RootCAs);
	// timeouts and body limits are set per use.
	HTTP safehttp.Options
	// PartSize, MaxBufferedBytes, MaxBufferedBytesPerUser,
	// MaxParkedBytesPerUser, PartWait, UploadTTL, MaxUploads and
	// MaxUploadsPerUser configure the upload sessions (see uploads.Options
	// for their meaning and defaults).
	PartSize                                  int
	MaxBufferedBytes, MaxBufferedBytesPerUser int64
	MaxParkedBytesPerUser                     int64
	PartWait, UploadTTL                       time.Duration
	MaxUploads, MaxUploadsPerUser             int
	// Redis, when set, keeps the upload sessions there, shared with the
	// other AppViews using it (uploads.Options.Redis); nil: in memory.
	Redis redis.UniversalClient
	// UploadLockTTL is how long an upload session stays locked after the
	// AppView using it died (uploads.Options.LockTTL). Default 15s.
	UploadLockTTL time.Duration
	// IndexTTL: a repository index is listed again from the PDS after this.
	// Default 10m.
	IndexTTL time.Duration
	// TagTTL: tag → digest answers are reused this long. Default 30s.
	TagTTL time.Duration
	// HoldTTL: a user's push hold is reused this long. Default 5m.
	HoldTTL time.Duration
	// ManifestCacheBytes bounds the cache of manifest bytes. Default 64 MiB.
	ManifestCacheBytes int64
	// LookupCacheBytes bounds each cache of short-lived answers (blob
	// sizes, presigned URLs, tags, push holds). Default 16 MiB.
	LookupCacheBytes int64
	// IndexBytes bounds the record JSON of all repository indexes kept;
	// IndexAccountBytes one account's (its listing stops there). Defaults
	// 256 MiB and 32 MiB.
	IndexBytes, IndexAccountBytes int64
	// IndexLoads bounds the accounts listed from their PDS at once; more
	// wait, and stop waiting when their client goes away. Default 32.
	IndexLoads int
	// MaxIndexes bounds the DIDs whose index is kept. Default 1000.
	MaxIndexes int
	// MaxRecords bounds the records of one collection read into one index.
	// Default 10000.
	MaxRecords int
	// MaxReferences bounds the blobs and children a manifest push checks.
	// Default 1000.
	MaxReferences int
	// HoldCallTimeout bounds one ordinary hold call (a blob lookup,
	// starting an upload); a blob lookup that runs into it pauses lookups
	// on that hold (holddown.go). Default 30s.
	HoldCallTimeout time.Duration
	// NotifyTimeout bounds io.atcr.hold.notifyManifest and
	// notifyManifestDeleted (with the hold's resolution). Default 10s.
	NotifyTimeout time.Duration
	// NotifyBackoff is the wait before notifyManifest is tried again after
	// the hold failed or could not be reached (then four times longer).
	// Default 500ms.
	NotifyBackoff time.Duration
	// Logger defaults to slog.Default(); Now to time.Now.
	Logger *slog.Logger
	Now    func() time.Time
}

// Store implements the registry's services over PDS records and holds. It
// is safe for concurrent use; create one per process.
type Store struct {
	opts       Options
	dir        identity.Directory
	actAs      ActAs
	tombstones Tombstones
	indexer    Indexer
	log        *slog.Logger
	now        func() time.Time

	pds     *pdsread.Reader
	hold    *holdclient.Client
	uploads *uploads.Manager
	tids    *syntax.TIDClock
	pushes  *pushBatcher // pushbatch.go

	pushHolds *bytecache.Cache[syntax.DID, syntax.DID]
	// privateHolds are holds that refused an anonymous read (onHold).
	privateHolds *bytecache.Cache[syntax.DID, bool]
	// downHolds are holds that let a blob lookup time out (holddown.go).
	downHolds *bytecache.Cache[syntax.DID, holdDown]
	tagCache  *bytecache.Cache[tagKey, tagAnswer]
	unlinks   *bytecache.Cache[unlinkKey, unlinkAnswer] // unlinkcache.go
	unlinkGen atomic.Int64                              // moved by this Store's unlinks and relinks
	stats     *bytecache.Cache[blobKey, int64]
	presigned *bytecache.Cache[blobKey, string]
	// beyond are manifests found past a truncated index (indexhints.go).
	beyond    *bytecache.Cache[beyondKey, []*pdsread.ManifestRecord]
	manifests *bytecache.Cache[manifestKey, cachedManifest]
	indexes   *indexCache
	// pushers are the owners who pushed through this AppView; catalog is
	// the computed catalog (Repositories).
	pushers    *bytecache.Cache[syntax.DID, bool]
	catalog    *bytecache.Cache[struct{}, []string]
	indexLoads *semaphore.Weighted

	flight singleflight.Group
	// coh keeps this AppView's caches coherent with the others sharing
	// Options.Redis (coherence.go); nil without Redis.
	coh *coherence
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
	if opts.Directory == nil || opts.ActAs == nil || opts.Tombstones == nil {
		return nil, errors.New("storage: Options.Directory, Options.ActAs and Options.Tombstones are required")
	}
	opts = withDefaults(opts)
	s := &Store{
		opts:         opts,
		dir:          opts.Directory,
		actAs:        opts.ActAs,
		tombstones:   unavailableTombstones{opts.Tombstones},
		indexer:      opts.Indexer,
		log:          opts.Logger,
		now:          opts.Now,
		pds:          pdsread.NewReader(opts.HTTP),
		tids:         syntax.NewTIDClock(0),
		pushes:       newPushBatcher(opts.Logger),
		pushHolds:    bytecache.NewTTL(opts.LookupCacheBytes, opts.HoldTTL, opts.Now, func(k, v syntax.DID) int64 { return int64(len(k) + len(v)) }),
		privateHolds: bytecache.NewTTL(opts.LookupCacheBytes, privateHoldTTL, opts.Now, func(k syntax.DID, _ bool) int64 { return int64(len(k)) }),
		downHolds:    bytecache.NewTTL(opts.LookupCacheBytes, holdDownMemory, opts.Now, func(k syntax.DID, _ holdDown) int64 { return int64(len(k)) + 32 }),
		tagCache:     bytecache.NewTTL(opts.LookupCacheBytes, opts.TagTTL, opts.Now, func(k tagKey, _ tagAnswer) int64 { return k.bytes() + digestBytes + 8 }),
		unlinks:      bytecache.NewTTL(opts.LookupCacheBytes, opts.TagTTL, opts.Now, func(k unlinkKey, _ unlinkAnswer) int64 { return k.bytes() + 24 }),
		stats:        bytecache.NewTTL(opts.LookupCacheBytes, statTTL, opts.Now, func(k blobKey, _ int64) int64 { return k.bytes() + 8 }),
		presigned:    bytecache.NewTTL(opts.LookupCacheBytes, maxPresignCache, opts.Now, func(k blobKey, u string) int64 { return k.bytes() + int64(len(u)) }),
		beyond: bytecache.NewTTL(opts.LookupCacheBytes, opts.TagTTL, opts.Now, func(k beyondKey, recs []*pdsread.ManifestRecord) int64 {
			n := int64(len(k.did)+len(k.repo)) + digestBytes
			for _, r := range recs {
				n += int64(len(r.URI)) + beyondRecordBytes
			}
			return n
		}),
		manifests: bytecache.NewImmutable(opts.ManifestCacheBytes, func(k manifestKey, m cachedManifest) int64 {
			return int64(len(k.did)) + digestBytes + int64(len(m.body)+len(m.mediaType))
		}),
		indexes: newIndexCache(opts.MaxIndexes, opts.IndexBytes),
		pushers: bytecache.NewTTL(opts.LookupCacheBytes, pusherTTL, opts.Now, func(k syntax.DID, _ bool) int64 { return int64(len(k)) }),
		catalog: bytecache.NewTTL(opts.IndexBytes, catalogTTL, opts.Now, func(_ struct{}, names []string) int64 {
			var n int64
			for _, name := range names {
				n += int64(len(name)) + 16
			}
			return n
		}),
		indexLoads: semaphore.NewWeighted(int64(opts.IndexLoads)),
	}
	var err error
	s.hold, err = holdclient.New(holdclient.Options{
		Directory: opts.Directory, Tokens: opts.ActAs, TokenErr: s.sessionErr, HTTP: opts.HTTP,
		CallTimeout: opts.HoldCallTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	s.uploads, err = uploads.New(uploads.Options{
		Hold:             s.hold,
		PushHold:         s.pushTarget,
		PartSize:         opts.PartSize,
		MaxBufferedBytes: opts.MaxBufferedBytes,
		// The per-user share is a bound on top of the total.
		MaxBufferedBytesPerUser: opts.MaxBufferedBytesPerUser,
		PartWait:                opts.PartWait,
		UploadTTL:               opts.UploadTTL,
		MaxUploads:              opts.MaxUploads,
		MaxUploadsPerUser:       opts.MaxUploadsPerUser,
		MaxParkedBytesPerUser:   opts.MaxParkedBytesPerUser,
		Redis:                   opts.Redis,
		LockTTL:                 opts.UploadLockTTL,
		Logger:                  opts.Logger,
		Now:                     opts.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	if opts.Redis != nil {
		if err := s.startCoherence(opts.Redis); err != nil {
			return nil, fmt.Errorf("storage: %w", err)
		}
	}
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
	setBytes := func(n *int64, def int64) {
		if *n <= 0 {
			*n = def
		}
	}
	setBytes(&o.ManifestCacheBytes, DefaultManifestCacheBytes)
	setBytes(&o.LookupCacheBytes, DefaultLookupCacheBytes)
	setBytes(&o.IndexBytes, DefaultIndexBytes)
	setBytes(&o.IndexAccountBytes, DefaultIndexAccountBytes)
	setDuration(&o.IndexTTL, DefaultIndexTTL)
	setDuration(&o.TagTTL, DefaultTagTTL)
	setDuration(&o.HoldTTL, DefaultHoldTTL)
	setDuration(&o.NotifyTimeout, DefaultNotifyTimeout)
	setDuration(&o.NotifyBackoff, DefaultNotifyBackoff)
	setInt(&o.MaxIndexes, DefaultMaxIndexes)
	setInt(&o.IndexLoads, DefaultIndexLoads)
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

// sessionErr classifies an error of ActAs: no session is the user's to
// fix (401), anything else is an upstream failure.
func (s *Store) sessionErr(did syntax.DID, err error) error {
	if s.opts.NoSessionErr != nil && errors.Is(err, s.opts.NoSessionErr) {
		return fmt.Errorf("session of %s: %w: %w", did, registry.ErrNoSession, err)
	}
	return fmt.Errorf("session of %s: %w: %w", did, registry.ErrPDSUnavailable, err)
}

// userClient returns the owner's authenticated PDS client.
func (s *Store) userClient(ctx context.Context, did syntax.DID) (*atclient.APIClient, error) {
	c, err := s.actAs.Client(ctx, did)
	if err != nil {
		return nil, s.sessionErr(did, err)
	}
	return c, nil
}
