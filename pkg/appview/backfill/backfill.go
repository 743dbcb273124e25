package backfill

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/repo"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"
	"github.com/ipld/go-car"

	"atcr.io/pkg/appview/index"
)

// Defaults of Options.
const (
	DefaultMaxRepoBytes = 256 << 20
	DefaultBatch        = 500
)

// Options configures New.
type Options struct {
	// Directory resolves handles and DIDs (the AppView's shared directory).
	Directory identity.Directory
	// HTTPClient is the guarded client for server-side fetches (safehttp):
	// PDS URLs come from DID documents anyone can write.
	HTTPClient *http.Client
	// Index receives the records.
	Index *index.Store
	// MaxRepoBytes bounds a repository's CAR (DefaultMaxRepoBytes).
	MaxRepoBytes int64
	// Batch is how many records go into one Apply (DefaultBatch).
	Batch int
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Backfiller reads repositories into the index.
type Backfiller struct {
	opts Options
	log  *slog.Logger
}

// Result says what one backfill did.
type Result struct {
	DID     string
	Handle  string
	Rev     string
	Records int // records of indexed collections in the repository
	Indexed int
	Invalid int // refused by the index's validation
}

// ErrVerify is wrapped by every failure to verify a repository.
var ErrVerify = errors.New("repository does not verify")

// New checks the options.
func New(opts Options) (*Backfiller, error) {
	if opts.Directory == nil || opts.HTTPClient == nil || opts.Index == nil {
		return nil, errors.New("backfill: Directory, HTTPClient and Index are required")
	}
	if opts.MaxRepoBytes <= 0 {
		opts.MaxRepoBytes = DefaultMaxRepoBytes
	}
	if opts.Batch <= 0 {
		opts.Batch = DefaultBatch
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Backfiller{opts: opts, log: opts.Logger.With("component", "backfill")}, nil
}

// Account backfills one account, named by DID or handle.
func (b *Backfiller) Account(ctx context.Context, who string) (Result, error) {
	id, err := syntax.ParseAtIdentifier(strings.TrimPrefix(who, "@"))
	if err != nil {
		return Result{}, fmt.Errorf("backfill %q: %w", who, err)
	}
	ident, err := b.opts.Directory.Lookup(ctx, id)
	if err != nil {
		return Result{}, fmt.Errorf("backfill %s: resolve: %w", who, err)
	}
	res := Result{DID: ident.DID.String(), Handle: ident.Handle.String()}
	key, err := ident.PublicKey()
	if err != nil {
		return res, fmt.Errorf("backfill %s: signing key: %w", ident.DID, err)
	}
	pds := ident.PDSEndpoint()
	if pds == "" {
		return res, fmt.Errorf("backfill %s: the DID document names no PDS", ident.DID)
	}
	carBytes, err := b.fetchRepo(ctx, pds, ident.DID)
	if err != nil {
		return res, err
	}
	commit, r, err := verifyRepo(ctx, carBytes, ident.DID, func(c *repo.Commit) error { return c.VerifySignature(key) })
	if err != nil {
		return res, fmt.Errorf("backfill %s: %w", ident.DID, err)
	}
	res.Rev = commit.Rev
	events, err := records(ctx, r)
	if err != nil {
		return res, fmt.Errorf("backfill %s: %w", ident.DID, err)
	}
	res.Records = len(events)
	if err := b.opts.Index.DeleteDID(ctx, ident.DID.String()); err != nil {
		return res, fmt.Errorf("backfill %s: %w", ident.DID, err)
	}
	for batch := range slices.Chunk(events, b.opts.Batch) {
		out, err := b.opts.Index.Apply(ctx, index.Batch{Events: batch})
		if err != nil {
			return res, fmt.Errorf("backfill %s: %w", ident.DID, err)
		}
		res.Indexed += out.Applied
		res.Invalid += len(out.Invalid)
		for _, inv := range out.Invalid {
			b.log.Info("backfill: skipped an invalid record", "err", inv)
		}
	}
	if !ident.Handle.IsInvalidHandle() && ident.Handle != "" {
		if err := b.opts.Index.SetHandle(ctx, ident.DID.String(), ident.Handle.String()); err != nil {
			return res, fmt.Errorf("backfill %s: %w", ident.DID, err)
		}
	}
	return res, nil
}

// fetchRepo reads com.atproto.sync.getRepo, at most MaxRepoBytes.
func (b *Backfiller) fetchRepo(ctx context.Context, pds string, did syntax.DID) ([]byte, error) {
	u := strings.TrimSuffix(pds, "/") + "/xrpc/com.atproto.sync.getRepo?did=" + url.QueryEscape(did.String())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("backfill %s: %w", did, err)
	}
	req.Header.Set("Accept", "application/vnd.ipld.car")
	resp, err := b.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("backfill %s: getRepo: %w", did, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("backfill %s: getRepo: %s: %s", did, resp.Status, bytes.TrimSpace(msg))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, b.opts.MaxRepoBytes+1))
	if err != nil {
		return nil, fmt.Errorf("backfill %s: getRepo: %w", did, err)
	}
	if int64(len(body)) > b.opts.MaxRepoBytes {
		return nil, fmt.Errorf("backfill %s: repository larger than %d bytes", did, b.opts.MaxRepoBytes)
	}
	return body, nil
}

// verifyRepo checks every block of the CAR against its CID (the CAR reader
// does not), loads the repository, and checks the commit's DID, its
// signature (verifySig) and the MST's structure.
func verifyRepo(ctx context.Context, carBytes []byte, did syntax.DID, verifySig func(*repo.Commit) error) (*repo.Commit, *repo.Repo, error) {
	cr, err := car.NewCarReader(bytes.NewReader(carBytes))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrVerify, err)
	}
	for {
		blk, err := cr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: read CAR: %w", ErrVerify, err)
		}
		got, err := blk.Cid().Prefix().Sum(blk.RawData())
		if err != nil || !got.Equals(blk.Cid()) {
			return nil, nil, fmt.Errorf("%w: block %s does not hash to its CID", ErrVerify, blk.Cid())
		}
	}
	commit, r, err := repo.LoadRepoFromCAR(ctx, bytes.NewReader(carBytes))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrVerify, err)
	}
	if commit.DID != did.String() {
		return nil, nil, fmt.Errorf("%w: commit of %s, want %s", ErrVerify, commit.DID, did)
	}
	if err := verifySig(commit); err != nil {
		return nil, nil, fmt.Errorf("%w: commit signature: %w", ErrVerify, err)
	}
	if err := r.MST.Verify(); err != nil {
		return nil, nil, fmt.Errorf("%w: MST: %w", ErrVerify, err)
	}
	return commit, r, nil
}

// records returns a put event for every record of an indexed collection.
// A record whose CBOR is not atproto data is refused by Apply (its value
// is left empty), so it is counted as invalid like any other.
func records(ctx context.Context, r *repo.Repo) ([]index.Event, error) {
	var events []index.Event
	err := r.MST.Walk(func(key []byte, val cid.Cid) error {
		collection, rkey, ok := strings.Cut(string(key), "/")
		if !ok || !slices.Contains(index.Collections, collection) {
			return nil
		}
		blk, err := r.RecordStore.Get(ctx, val)
		if err != nil {
			return fmt.Errorf("record %s: %w", key, err)
		}
		ev := index.Event{Record: index.Record{DID: r.DID.String(), Collection: collection, RKey: rkey, CID: val.String()}}
		if v, err := atdata.UnmarshalCBOR(blk.RawData()); err == nil {
			ev.Value = v
		}
		events = append(events, ev)
		return nil
	})
	return events, err
}
