package pds

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/atproto/repo"
	"github.com/bluesky-social/indigo/atproto/repo/mst"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/bluesky-social/indigo/events"
	lexutil "github.com/bluesky-social/indigo/lex/util"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// cborCID builds the CIDs of records, MST nodes and commits (dag-cbor, sha-256).
var cborCID = cid.NewPrefixV1(cid.DagCBOR, mh.SHA2_256)

// WriteOp is the kind of a Write.
type WriteOp int

// Write operations. Update creates the record when it is absent (putRecord
// semantics); Create fails with ErrRecordExists when the key is taken.
const (
	Create WriteOp = iota + 1
	Update
	Delete
)

// Write is one record operation in an ApplyWrites batch.
type Write struct {
	Op         WriteOp
	Collection syntax.NSID
	// RKey may be empty for Create: a fresh TID is used.
	RKey   syntax.RecordKey
	Record map[string]any // nil for Delete
	// SwapRecord, if set, is a compare-and-swap: the current record CID must
	// equal it (Update, Delete) or the batch fails with ErrInvalidSwap.
	SwapRecord string
}

// WriteResult describes one applied write.
type WriteResult struct {
	URI syntax.ATURI
	CID string // record CID; empty for deletes
	// Noop is true for an update whose content equalled the stored record;
	// it produced no op in the commit.
	Noop bool
}

// CommitResult is the outcome of ApplyWrites. When every write was a no-op,
// no commit is written and Commit, Rev and Seq keep the previous head.
type CommitResult struct {
	Commit    string // commit CID
	Rev       string
	Seq       int64
	Committed bool
	Results   []WriteResult
}

// preparedWrite is a Write after validation and encoding, done outside the lock.
type preparedWrite struct {
	w     Write
	path  string
	uri   syntax.ATURI
	block blocks.Block   // encoded record; nil for Delete
	value map[string]any // normalised record; nil for Delete
	swap  *cid.Cid
}

// ApplyWrites applies a batch of writes as one signed commit and announces it
// on the firehose. The batch is atomic: any error leaves the repository
// unchanged. At most MaxCommitOps writes, at most MaxCommitBytes of blocks.
func (p *PDS) ApplyWrites(ctx context.Context, writes []Write) (*CommitResult, error) {
	if len(writes) == 0 {
		return nil, fmt.Errorf("%w: empty batch", ErrInvalidWrite)
	}
	if len(writes) > MaxCommitOps {
		return nil, fmt.Errorf("%w: %d > %d", ErrTooManyOps, len(writes), MaxCommitOps)
	}
	prepared := make([]preparedWrite, len(writes))
	seen := make(map[string]bool, len(writes))
	for i, w := range writes {
		pw, err := p.prepareWrite(w)
		if err != nil {
			return nil, fmt.Errorf("write %d (%s/%s): %w", i, w.Collection, w.RKey, err)
		}
		if seen[pw.path] {
			return nil, fmt.Errorf("%w: %s appears twice in one batch", ErrInvalidWrite, pw.path)
		}
		seen[pw.path] = true
		prepared[i] = pw
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	if p.broken != nil {
		return nil, fmt.Errorf("repository needs a restart: %w", p.broken)
	}
	// Refuse on preconditions before touching the tree, so the common
	// failures (exists, not found, swap) need no tree rebuild.
	if err := p.checkPreconditionsLocked(prepared); err != nil {
		return nil, err
	}
	res, err := p.applyLocked(ctx, prepared)
	if err != nil {
		// The tree may be half mutated: rebuild it from the durable head.
		p.reloadTreeLocked(ctx)
		return nil, err
	}
	return res, nil
}

// checkPreconditionsLocked checks every write against the current tree.
// Paths are unique within a batch, so the current tree is each write's
// starting state. Caller holds p.mu.
func (p *PDS) checkPreconditionsLocked(prepared []preparedWrite) error {
	for _, pw := range prepared {
		cur, err := p.tree.Get([]byte(pw.path))
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInvalidWrite, pw.path, err)
		}
		switch {
		case pw.swap != nil && (cur == nil || !cur.Equals(*pw.swap)):
			return fmt.Errorf("%w: %s", ErrInvalidSwap, pw.path)
		case pw.w.Op == Create && cur != nil:
			return fmt.Errorf("%w: %s", ErrRecordExists, pw.path)
		case pw.w.Op == Delete && cur == nil:
			return fmt.Errorf("%w: %s", ErrRecordNotFound, pw.path)
		}
	}
	return nil
}

// applyLocked runs the MST operations and commits. The precondition checks
// repeat here as assertions on what ApplyOp reports. Caller holds p.mu.
func (p *PDS) applyLocked(ctx context.Context, prepared []preparedWrite) (*CommitResult, error) {
	diff := newMemBlocks()
	ops := make([]*comatproto.SyncSubscribeRepos_RepoOp, 0, len(prepared))
	results := make([]WriteResult, len(prepared))
	for i, pw := range prepared {
		var val *cid.Cid
		if pw.block != nil {
			c := pw.block.Cid()
			val = &c
		}
		op, err := repo.ApplyOp(&p.tree, pw.path, val)
		if err != nil {
			return nil, fmt.Errorf("apply %s: %w", pw.path, err)
		}
		if pw.swap != nil && (op.Prev == nil || !op.Prev.Equals(*pw.swap)) {
			return nil, fmt.Errorf("%w: %s", ErrInvalidSwap, pw.path)
		}
		results[i] = WriteResult{URI: pw.uri}
		switch {
		case pw.w.Op == Delete:
			if op.Prev == nil {
				return nil, fmt.Errorf("%w: %s", ErrRecordNotFound, pw.path)
			}
			ops = append(ops, &comatproto.SyncSubscribeRepos_RepoOp{Action: "delete", Path: pw.path, Prev: lexLink(*op.Prev)})
			continue
		case op.Prev == nil:
			ops = append(ops, &comatproto.SyncSubscribeRepos_RepoOp{Action: "create", Path: pw.path, Cid: lexLink(*val)})
		case pw.w.Op == Create:
			return nil, fmt.Errorf("%w: %s", ErrRecordExists, pw.path)
		case op.Prev.Equals(*val):
			// Same content: InvertOp rejects an update with prev == cid, so
			// it must not appear in the commit at all.
			results[i].Noop = true
		default:
			ops = append(ops, &comatproto.SyncSubscribeRepos_RepoOp{Action: "update", Path: pw.path, Cid: lexLink(*val), Prev: lexLink(*op.Prev)})
		}
		results[i].CID = val.String()
		if !results[i].Noop {
			if err := diff.Put(ctx, pw.block); err != nil {
				return nil, err
			}
		}
	}
	if len(ops) == 0 {
		// Only no-op updates: nothing to commit. Re-hash the nodes the
		// inserts marked dirty; the tree must still match the head.
		root, err := p.tree.RootCID()
		if err != nil {
			return nil, fmt.Errorf("hash unchanged tree: %w", err)
		}
		if !root.Equals(p.head.Data) {
			return nil, fmt.Errorf("tree root %s differs from head %s after no-op writes", root, p.head.Data)
		}
		return &CommitResult{Commit: p.head.Commit.String(), Rev: p.head.Rev, Seq: p.head.Seq, Results: results}, nil
	}
	res, err := p.commitLocked(ctx, diff, ops, changedWrites(prepared, results))
	if err != nil {
		return nil, err
	}
	res.Results = results
	return res, nil
}

// commitLocked signs the current tree as a new commit, persists the diff and
// broadcasts the #commit event. Caller holds p.mu (or is Open).
// changed are the writes that changed a record, for the indexes.
func (p *PDS) commitLocked(ctx context.Context, diff *memBlocks, ops []*comatproto.SyncSubscribeRepos_RepoOp, changed []preparedWrite) (*CommitResult, error) {
	// WriteDiffBlocks must run before anything calls RootCID (which clears
	// the dirty flags); it adds the changed nodes plus the neighbour nodes a
	// consumer needs to invert the ops.
	dataCID, err := p.tree.WriteDiffBlocks(ctx, diff)
	if err != nil {
		return nil, fmt.Errorf("write MST diff: %w", err)
	}
	commit := repo.Commit{
		DID:     p.did.String(),
		Version: repo.ATPROTO_REPO_VERSION,
		Data:    *dataCID,
		Rev:     p.clock.Next().String(),
	}
	if err := commit.Sign(p.key); err != nil {
		return nil, fmt.Errorf("sign commit: %w", err)
	}
	var buf bytes.Buffer
	if err := commit.MarshalCBOR(&buf); err != nil {
		return nil, fmt.Errorf("encode commit: %w", err)
	}
	commitCID, err := cborCID.Sum(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("commit cid: %w", err)
	}
	commitBlock, err := blocks.NewBlockWithCid(buf.Bytes(), commitCID)
	if err != nil {
		return nil, fmt.Errorf("commit block: %w", err)
	}
	if err := diff.Put(ctx, commitBlock); err != nil {
		return nil, err
	}

	var car bytes.Buffer
	if err := writeCAR(&car, commitCID, diff.order); err != nil {
		return nil, fmt.Errorf("encode commit CAR: %w", err)
	}
	if car.Len() > MaxCommitBytes {
		return nil, fmt.Errorf("%w: %d bytes > %d", ErrCommitTooLarge, car.Len(), MaxCommitBytes)
	}
	if ops == nil {
		ops = []*comatproto.SyncSubscribeRepos_RepoOp{}
	}
	next := headState{Commit: commitCID, Data: *dataCID, Rev: commit.Rev, Seq: p.head.Seq + 1}
	evt := &comatproto.SyncSubscribeRepos_Commit{
		Repo:   p.did.String(),
		Rev:    commit.Rev,
		Seq:    next.Seq,
		Commit: lexutil.LexLink(commitCID),
		Blocks: car.Bytes(),
		Ops:    ops,
		Blobs:  []lexutil.LexLink{}, // deprecated but required by the lexicon
		Time:   syntax.DatetimeNow().String(),
	}
	if p.head.Commit.Defined() {
		since := p.head.Rev
		evt.Since = &since
		evt.PrevData = lexLink(p.head.Data)
	}
	xevt := &events.XRPCStreamEvent{RepoCommit: evt}
	if err := xevt.Preserialize(); err != nil {
		return nil, fmt.Errorf("serialize #commit: %w", err)
	}
	index := func(ctx context.Context, tx *sql.Tx) error { return indexCommit(ctx, tx, p.indexes, changed, next.Seq) }
	if err := persistCommit(ctx, p.db, diff, next, xevt.Preserialized, index); err != nil {
		return nil, err
	}
	p.head = next
	if err := p.events.AddEvent(ctx, xevt); err != nil {
		p.log.Warn("broadcast commit", "seq", next.Seq, "err", err)
	}
	return &CommitResult{Commit: commitCID.String(), Rev: commit.Rev, Seq: next.Seq, Committed: true}, nil
}

// reloadTreeLocked rebuilds the in-memory MST from the durable head after a
// failed write. Caller holds p.mu.
func (p *PDS) reloadTreeLocked(ctx context.Context) {
	tree, err := mst.LoadTreeFromStore(context.WithoutCancel(ctx), sqlBlocks{p.db}, p.head.Data)
	if err == nil && tree.IsPartial() {
		err = errors.New("tree is missing blocks")
	}
	if err != nil {
		// Writing on top of a possibly inconsistent tree would sign garbage;
		// refuse further writes instead.
		p.log.Error("reload MST after failed write; refusing writes until restart", "err", err)
		p.broken = err
		return
	}
	p.tree = *tree
}

// changedWrites drops the no-op updates, which change no record.
func changedWrites(prepared []preparedWrite, results []WriteResult) []preparedWrite {
	out := make([]preparedWrite, 0, len(prepared))
	for i, pw := range prepared {
		if !results[i].Noop {
			out = append(out, pw)
		}
	}
	return out
}

func lexLink(c cid.Cid) *lexutil.LexLink {
	l := lexutil.LexLink(c)
	return &l
}
