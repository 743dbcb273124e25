package pds

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/repo/mst"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/bluesky-social/indigo/events"

	"atcr.io/pkg/s3"
)

// Relay limits per commit (indigo cmd/relay MaxCommitOps and
// MaxMessageBlocksBytes). A relay drops a larger commit, so ApplyWrites
// refuses it and callers split their batches.
const (
	MaxCommitOps   = 200
	MaxCommitBytes = 2_000_000
)

// DefaultKeepEvents is how many firehose events GC keeps for cursor replay
// when Options.KeepEvents is zero.
const DefaultKeepEvents = 10_000

// Options configure Open.
type Options struct {
	// DataDir holds signing.key and repo.sqlite. Created (0700) if missing.
	DataDir string
	// PublicURL is the hold's public scheme://host[:port]; the DID is
	// did:web:<host> (a port becomes %3A<port>).
	PublicURL string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Validate, if set, is called with the collection and the final record
	// (including $type) before every create or update; an error refuses the
	// whole batch. It is meant for lexicon validation.
	Validate func(collection string, record map[string]any) error
	// KeepEvents is how many firehose events GC keeps (DefaultKeepEvents if 0).
	KeepEvents int
	// Indexes are secondary indexes kept beside the records (index.go).
	Indexes []Index
	// Blobs stores the PDS's blobs in S3 (under BlobKeyPrefix). Nil keeps
	// them in repo.sqlite, as tools and tests without storage do; blobs
	// already in repo.sqlite stay readable either way.
	Blobs *s3.S3Service
}

// PDS is the hold's embedded repository. It is safe for concurrent use.
type PDS struct {
	did        syntax.DID
	handle     string
	publicURL  string
	key        atcrypto.PrivateKeyExportable
	pub        atcrypto.PublicKey
	db         *sql.DB
	log        *slog.Logger
	validate   func(string, map[string]any) error
	keepEvents int
	indexes    []Index
	blobs      *s3.S3Service

	events  *events.EventManager
	closing chan struct{} // closed by Close; ends firehose connections

	// mu guards the in-memory MST and head. Writes (ApplyWrites, GC) hold it
	// exclusively; reads of the tree share it.
	mu     sync.RWMutex
	tree   mst.Tree
	head   headState
	clock  syntax.TIDClock
	closed bool
	// broken is set when the tree could not be rebuilt after a failed write;
	// further writes are refused until a restart reloads it.
	broken error
}

// Open loads (or, on first start, creates) the hold's identity and repository
// in opts.DataDir. A fresh repository gets a signed genesis commit with an
// empty tree, so the hold always has a head to serve.
func Open(ctx context.Context, opts Options) (*PDS, error) {
	if opts.DataDir == "" {
		return nil, errors.New("pds: DataDir is required")
	}
	u, err := parsePublicURL(opts.PublicURL)
	if err != nil {
		return nil, err
	}
	did, err := didWebFromURL(u)
	if err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("component", "pds", "did", did.String())
	keep := opts.KeepEvents
	if keep <= 0 {
		keep = DefaultKeepEvents
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir %s: %w", opts.DataDir, err)
	}
	key, created, err := loadOrCreateKey(opts.DataDir, logger)
	if err != nil {
		return nil, err
	}
	pub, err := key.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("derive public key: %w", err)
	}
	db, err := openDB(ctx, opts.DataDir)
	if err != nil {
		return nil, err
	}
	p := &PDS{
		did:        did,
		handle:     u.Hostname(),
		publicURL:  u.String(),
		key:        key,
		pub:        pub,
		db:         db,
		log:        logger,
		validate:   opts.Validate,
		keepEvents: keep,
		indexes:    opts.Indexes,
		blobs:      opts.Blobs,
		closing:    make(chan struct{}),
	}
	p.events = events.NewEventManager(&eventStore{db: db, closing: p.closing})
	if err := p.createIndexes(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := p.loadRepo(ctx, created); err != nil {
		db.Close()
		return nil, err
	}
	if err := p.openIndexes(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return p, nil
}

// loadRepo restores the tree, head and TID clock, or writes the genesis commit.
func (p *PDS) loadRepo(ctx context.Context, newKey bool) error {
	h, ok, err := loadHead(ctx, p.db)
	if err != nil {
		return err
	}
	if !ok {
		p.clock = syntax.TIDClock{}
		p.tree = mst.NewEmptyTree()
		if _, err := p.commitLocked(ctx, newMemBlocks(), nil, nil); err != nil {
			return fmt.Errorf("genesis commit: %w", err)
		}
		p.log.Info("created repository", "rev", p.head.Rev)
		return nil
	}
	if newKey {
		p.log.Warn("signing key was missing and has been regenerated; earlier commits no longer verify against the DID document")
	}
	tree, err := mst.LoadTreeFromStore(ctx, sqlBlocks{p.db}, h.Data)
	if err != nil {
		return fmt.Errorf("load MST %s: %w", h.Data, err)
	}
	// LoadTreeFromStore quietly accepts missing nodes as a partial tree.
	if tree.IsPartial() {
		return fmt.Errorf("load MST %s: tree is missing blocks", h.Data)
	}
	p.tree = *tree
	p.head = h
	// The relay refuses a rev that does not increase; resume after the head's.
	p.clock = syntax.ClockFromTID(syntax.TID(h.Rev))
	return nil
}

// Close stops firehose connections and closes the database. Writes after
// Close fail with ErrClosed.
func (p *PDS) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	close(p.closing)
	if err := p.events.Shutdown(context.Background()); err != nil {
		p.log.Warn("shut down event manager", "err", err)
	}
	if err := p.db.Close(); err != nil {
		return fmt.Errorf("close repo db: %w", err)
	}
	return nil
}

// NextTID returns a fresh TID, e.g. for a record key. It shares the commit
// clock, so TIDs keep increasing across restarts.
func (p *PDS) NextTID() syntax.TID {
	return p.clock.Next()
}

// Head returns the current commit CID and rev.
func (p *PDS) Head() (commitCID, rev string) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.head.Commit.String(), p.head.Rev
}

// LastSeq returns the sequence number of the latest firehose event.
func (p *PDS) LastSeq() int64 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.head.Seq
}
