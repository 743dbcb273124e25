package holdoci

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/internal/ratelimit"
	"atcr.io/pkg/atproto/safehttp"
	"atcr.io/pkg/hold/pds"
	"atcr.io/pkg/keyedmutex"
	"atcr.io/pkg/s3"
)

// Authorizer decides hold access for a caller DID ("" = anonymous). It
// returns nil when allowed, or an *xrpc.Error: AuthRequired (401) for an
// anonymous caller that needs to authenticate, Forbidden (403) for an
// authenticated caller without the permission.
type Authorizer interface {
	CanRead(ctx context.Context, caller syntax.DID) error
	CanWrite(ctx context.Context, caller syntax.DID) error
}

// Quota checks a user's storage before new layer records are written.
// addBytes is the size of the blobs the user has no layer records for yet.
// It returns the usage after the addition and the limit (limit < 0 means
// unlimited), or an *xrpc.Error named QuotaExceeded when the addition would
// exceed the limit.
type Quota interface {
	CheckQuota(ctx context.Context, user syntax.DID, addBytes int64) (used, limit int64, err error)
}

// Captain reports the captain settings this package needs.
type Captain interface {
	BlueskyPostsEnabled(ctx context.Context) bool
}

// IdentityResolver finds a user's verified handle, shown in Bluesky posts
// and layer records, and the PDS notifyManifestDeleted asks whether a
// manifest record is really gone; indigo's identity.Directory satisfies it.
type IdentityResolver interface {
	LookupDID(ctx context.Context, did syntax.DID) (*identity.Identity, error)
}

// StagingStore is how completeUpload reads an assembled upload back to
// verify it and moves it to its blob key. *s3.S3Service implements it over
// S3 (a GET; a server-side copy and a delete). The embedded S3 server
// (*embedded.Server), running in the hold's own process, implements it on
// its files (a read; a rename), which saves an HTTP round of every byte and
// reading and writing every byte again.
type StagingStore interface {
	Open(ctx context.Context, key string) (io.ReadCloser, s3.ObjectInfo, error)
	Move(ctx context.Context, src, dst string) error
}

// Defaults for Options.
const (
	DefaultSessionTTL            = 24 * time.Hour
	DefaultEmptySessionTTL       = 15 * time.Minute
	DefaultSweepInterval         = 15 * time.Minute
	DefaultMaxSessionsPerUser    = 100
	DefaultMaxStagedBytesPerUser = 16 << 30
	DefaultPartIdleTimeout       = time.Minute
	DefaultPostsPerUserPerHour   = 6
)

// postLimitKeys bounds the post rate limiter's table (about 200 bytes a key).
const postLimitKeys = 10_000

// Options configure New. S3, PDS, Layers, DataDir and Authorizer are required.
type Options struct {
	S3  *s3.S3Service
	PDS *pds.PDS
	// Layers is the index of the PDS's layer records (required).
	Layers  LayerIndex
	DataDir string // holds uploads.sqlite and the uploadPart spool
	// SessionTTL is how long an upload session lives once it has a part
	// (DefaultSessionTTL); completed blobs not yet announced count against
	// the owner's quota for as long.
	SessionTTL time.Duration
	// EmptySessionTTL is how long a session without any part lives
	// (DefaultEmptySessionTTL).
	EmptySessionTTL time.Duration
	// MaxSessionsPerUser bounds a user's open upload sessions
	// (DefaultMaxSessionsPerUser); more answer 429 RateLimitExceeded.
	MaxSessionsPerUser int
	// MaxStagedBytesPerUser bounds the part bytes a user has staged through
	// uploadPart in open sessions (DefaultMaxStagedBytesPerUser).
	MaxStagedBytesPerUser int64
	// PartIdleTimeout cuts off an uploadPart body that stops arriving for
	// this long (DefaultPartIdleTimeout).
	PartIdleTimeout time.Duration
	// PostsPerUserPerHour bounds Bluesky posts per user
	// (DefaultPostsPerUserPerHour).
	PostsPerUserPerHour int
	// SweepInterval is how often Start's sweeper aborts expired sessions
	// (DefaultSweepInterval).
	SweepInterval time.Duration
	// PresignTTL is the lifetime of the presigned URLs handed out
	// (s3.DefaultPresignTTL); it should match the S3 service's setting.
	PresignTTL time.Duration
	// DisablePresignedUploads makes getPartUploadUrl hand out the hold's own
	// uploadPart URL instead of presigned S3 part URLs.
	DisablePresignedUploads bool
	// Staging reads assembled uploads back and moves them to their blob
	// keys; nil means S3.
	Staging StagingStore
	// RehashExisting makes completeUpload of a digest already stored read
	// the stored object back and replace it when its bytes do not match
	// (not only when its size differs). Worth it where reading is local
	// (the embedded S3 server), where torn writes after a crash are
	// possible; a remote S3 writes objects atomically.
	RehashExisting bool
	Authorizer     Authorizer
	// Quota may be nil: unlimited, and notifyManifest reports no usage.
	Quota Quota
	// Captain may be nil: no Bluesky posts.
	Captain Captain
	// Identity may be nil: posts and layer records name users by DID, and
	// notifyManifestDeleted cannot confirm a deletion (it answers 501 when
	// there are layer records to delete).
	Identity IdentityResolver
	// PDSClient fetches records from users' PDSes (notifyManifestDeleted's
	// check that a manifest is gone). It must be the guarded client
	// (safehttp): the PDS URL comes from a DID document the user controls.
	// nil means safehttp.New with production settings.
	PDSClient *http.Client
	// Scans, if set, is handed every verified manifest to scan and told of
	// deleted ones (scanhook.go); nil scans nothing.
	Scans  ScanHook
	Logger *slog.Logger
	// Now is the clock (time.Now); tests move it to expire sessions.
	Now func() time.Time
}

// Handlers serves the hold's OCI blob XRPC methods. Create it with New and
// release it with Close.
type Handlers struct {
	s3             *s3.S3Service
	staging        StagingStore
	pds            *pds.PDS
	layers         LayerIndex
	sessions       *sessionStore
	spoolDir       string
	ttl            time.Duration
	sweepEvery     time.Duration
	presignTTL     time.Duration
	noPresign      bool
	auth           Authorizer
	quota          Quota
	captain        Captain
	identity       IdentityResolver
	pdsClient      *http.Client
	scans          ScanHook
	log            *slog.Logger
	now            func() time.Time
	uploadLocks    keyedmutex.Map // one completion, abort or sweep per session at a time
	userLocks      keyedmutex.Map // one layer-record update per user at a time
	guard          blobGuard      // push steps that rely on a blob vs. GC deletes (gcguard.go)
	rehashExisting bool
	emptyTTL       time.Duration
	maxSessions    int
	maxStaged      int64
	partIdle       time.Duration
	postLimit      *ratelimit.Limiter

	// afterStat, set by tests only, runs in notifyManifest between the
	// blobs' stat and their layer records (where GC must not delete).
	afterStat func()

	sweepMu   sync.Mutex
	sweepStop context.CancelFunc
	sweepDone chan struct{}
}

// spoolDirName holds uploadPart bodies while they are sent to S3.
const spoolDirName = "upload-spool"

// New opens (creating if needed) the session store in opts.DataDir and
// returns the handlers. It clears part spool files a previous process left.
func New(opts Options) (*Handlers, error) {
	switch {
	case opts.S3 == nil:
		return nil, errors.New("holdoci: S3 is required")
	case opts.PDS == nil:
		return nil, errors.New("holdoci: PDS is required")
	case opts.Layers == nil:
		return nil, errors.New("holdoci: Layers is required")
	case opts.DataDir == "":
		return nil, errors.New("holdoci: DataDir is required")
	case opts.Authorizer == nil:
		return nil, errors.New("holdoci: Authorizer is required")
	}
	h := &Handlers{
		s3: opts.S3, staging: opts.Staging, pds: opts.PDS, layers: opts.Layers,
		ttl:        orDefault(opts.SessionTTL, DefaultSessionTTL),
		sweepEvery: orDefault(opts.SweepInterval, DefaultSweepInterval),
		presignTTL: orDefault(opts.PresignTTL, s3.DefaultPresignTTL),
		noPresign:  opts.DisablePresignedUploads, rehashExisting: opts.RehashExisting,
		auth: opts.Authorizer, quota: opts.Quota, captain: opts.Captain, identity: opts.Identity,
		pdsClient: opts.PDSClient, scans: opts.Scans, log: opts.Logger, now: opts.Now,
		spoolDir: filepath.Join(opts.DataDir, spoolDirName),
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.staging == nil {
		h.staging = opts.S3
	}
	if h.pdsClient == nil {
		h.pdsClient = safehttp.New(safehttp.Options{})
	}
	h.log = h.log.With("component", "holdoci")
	if h.now == nil {
		h.now = time.Now
	}
	h.emptyTTL = min(orDefault(opts.EmptySessionTTL, DefaultEmptySessionTTL), h.ttl)
	h.partIdle = orDefault(opts.PartIdleTimeout, DefaultPartIdleTimeout)
	h.maxSessions = cmp.Or(max(opts.MaxSessionsPerUser, 0), DefaultMaxSessionsPerUser)
	h.maxStaged = cmp.Or(max(opts.MaxStagedBytesPerUser, 0), DefaultMaxStagedBytesPerUser)
	posts := cmp.Or(max(opts.PostsPerUserPerHour, 0), DefaultPostsPerUserPerHour)
	limiter, err := ratelimit.New(ratelimit.Config{
		Rate: float64(posts) / 3600, Burst: min(posts, 3), MaxKeys: postLimitKeys, Now: h.now,
	})
	if err != nil {
		return nil, fmt.Errorf("post rate limit: %w", err)
	}
	h.postLimit = limiter
	if err := os.RemoveAll(h.spoolDir); err != nil {
		return nil, fmt.Errorf("clear upload spool %s: %w", h.spoolDir, err)
	}
	if err := os.MkdirAll(h.spoolDir, 0o700); err != nil {
		return nil, fmt.Errorf("create upload spool %s: %w", h.spoolDir, err)
	}
	store, err := openSessionStore(context.Background(), opts.DataDir)
	if err != nil {
		return nil, err
	}
	h.sessions = store
	return h, nil
}

// Close stops the sweeper and closes the session store.
func (h *Handlers) Close() error {
	h.Stop()
	return h.sessions.close()
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
