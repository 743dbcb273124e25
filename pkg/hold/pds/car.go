package pds

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"

	"github.com/bluesky-social/indigo/atproto/repo/mst"
	"github.com/bluesky-social/indigo/atproto/syntax"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	car "github.com/ipld/go-car"
	carutil "github.com/ipld/go-car/util"
)

// writeCAR writes a CAR v1 with one root followed by the blocks.
func writeCAR(w io.Writer, root cid.Cid, blks []blocks.Block) error {
	if err := car.WriteHeader(&car.CarHeader{Roots: []cid.Cid{root}, Version: 1}, w); err != nil {
		return fmt.Errorf("write CAR header: %w", err)
	}
	for _, b := range blks {
		if err := carutil.LdWrite(w, b.Cid().Bytes(), b.RawData()); err != nil {
			return fmt.Errorf("write CAR block %s: %w", b.Cid(), err)
		}
	}
	return nil
}

// snapshot is a read transaction pinned to one repo head: the SQLite WAL
// snapshot is taken while p.mu is held, so later writes and GC cannot change
// what the reader sees while it streams without the lock.
type snapshot struct {
	tx   *sql.Tx
	head headState
}

// beginSnapshotLocked opens the pinned read transaction. Caller holds p.mu.
func (p *PDS) beginSnapshotLocked(ctx context.Context) (*snapshot, error) {
	if p.closed {
		return nil, ErrClosed
	}
	tx, err := p.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("begin read snapshot: %w", err)
	}
	// A deferred transaction takes its snapshot at the first read.
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT seq FROM head WHERE id = 1`).Scan(&seq); err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("pin read snapshot: %w", err)
	}
	return &snapshot{tx: tx, head: p.head}, nil
}

func (s *snapshot) close() { _ = s.tx.Rollback() }

// readBatch is how many blocks one query fetches while streaming a CAR. The
// driver re-parses SQL on every query, so one query per block would dominate
// export time.
const readBatch = 500

// streamBlocks writes the CAR header (root = the snapshot's commit) and the
// listed blocks in order, read from the snapshot.
func (s *snapshot) streamBlocks(ctx context.Context, w io.Writer, cids []cid.Cid) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := car.WriteHeader(&car.CarHeader{Roots: []cid.Cid{s.head.Commit}, Version: 1}, bw); err != nil {
		return fmt.Errorf("write CAR header: %w", err)
	}
	for start := 0; start < len(cids); start += readBatch {
		chunk := cids[start:min(start+readBatch, len(cids))]
		found, err := readBlocks(ctx, s.tx, chunk)
		if err != nil {
			return err
		}
		for _, c := range chunk {
			data, ok := found[c.KeyString()]
			if !ok {
				return fmt.Errorf("block %s missing from the store", c)
			}
			if err := carutil.LdWrite(bw, c.Bytes(), data); err != nil {
				return fmt.Errorf("write CAR block %s: %w", c, err)
			}
		}
	}
	return bw.Flush()
}

// Export writes the whole current repository as a CAR v1: the commit, every
// MST node and every record. It is also the body of sync.getRepo.
func (p *PDS) Export(ctx context.Context, w io.Writer) error {
	p.mu.RLock()
	snap, err := p.beginSnapshotLocked(ctx)
	if err != nil {
		p.mu.RUnlock()
		return err
	}
	cids, err := p.liveCIDsLocked()
	p.mu.RUnlock()
	defer snap.close()
	if err != nil {
		return err
	}
	return snap.streamBlocks(ctx, w, cids)
}

// liveCIDsLocked lists the commit, all MST nodes (pre-order) and all record
// CIDs of the current head. Caller holds p.mu.
func (p *PDS) liveCIDsLocked() ([]cid.Cid, error) {
	cids := []cid.Cid{p.head.Commit}
	var records []cid.Cid
	err := walkNodes(p.tree.Root, func(n *mst.Node) error {
		if n.CID == nil || n.Dirty {
			return fmt.Errorf("MST node without a current CID")
		}
		cids = append(cids, *n.CID)
		for _, e := range n.Entries {
			if e.IsValue() {
				records = append(records, *e.Value)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return append(cids, records...), nil
}

// ExportSince writes a CAR (root = current commit) with only the blocks first
// written by commits after rev since: what sync.getRepo?since= returns.
func (p *PDS) ExportSince(ctx context.Context, w io.Writer, since syntax.TID) error {
	p.mu.RLock()
	snap, err := p.beginSnapshotLocked(ctx)
	p.mu.RUnlock()
	if err != nil {
		return err
	}
	defer snap.close()
	rows, err := snap.tx.QueryContext(ctx, `SELECT cid, data FROM blocks WHERE rev > ? ORDER BY rev`, since.String())
	if err != nil {
		return fmt.Errorf("query blocks since %s: %w", since, err)
	}
	defer rows.Close()
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := car.WriteHeader(&car.CarHeader{Roots: []cid.Cid{snap.head.Commit}, Version: 1}, bw); err != nil {
		return fmt.Errorf("write CAR header: %w", err)
	}
	for rows.Next() {
		var raw, data []byte
		if err := rows.Scan(&raw, &data); err != nil {
			return fmt.Errorf("scan block: %w", err)
		}
		if err := carutil.LdWrite(bw, raw, data); err != nil {
			return fmt.Errorf("write CAR block: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read blocks since %s: %w", since, err)
	}
	return bw.Flush()
}

// ExportRecordProof writes the sync.getRecord CAR: the commit, the MST nodes
// on the path from the root to the key, and the record if present. The same
// path proves absence when the key is missing.
func (p *PDS) ExportRecordProof(ctx context.Context, w io.Writer, coll syntax.NSID, rkey syntax.RecordKey) error {
	key := []byte(coll.String() + "/" + rkey.String())
	if !mst.IsValidKey(key) {
		return fmt.Errorf("%w: %s", ErrInvalidWrite, key)
	}
	p.mu.RLock()
	snap, err := p.beginSnapshotLocked(ctx)
	if err != nil {
		p.mu.RUnlock()
		return err
	}
	cids, err := p.proofCIDsLocked(key)
	p.mu.RUnlock()
	defer snap.close()
	if err != nil {
		return err
	}
	return snap.streamBlocks(ctx, w, cids)
}

// proofCIDsLocked lists the commit, the nodes on key's path and the record
// CID if the key is present. Caller holds p.mu.
func (p *PDS) proofCIDsLocked(key []byte) ([]cid.Cid, error) {
	var path []*mst.Node
	proofPath(p.tree.Root, key, &path)
	cids := []cid.Cid{p.head.Commit}
	for _, n := range path {
		if n.CID == nil || n.Dirty {
			return nil, fmt.Errorf("MST node without a current CID")
		}
		cids = append(cids, *n.CID)
	}
	val, err := p.tree.Get(key)
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", key, err)
	}
	if val != nil {
		cids = append(cids, *val)
	}
	return cids, nil
}

// proofPath collects the nodes a reader visits looking up key (the
// findExistingChild logic of the MST): the key's node if present, otherwise
// the path down to where it would be.
func proofPath(n *mst.Node, key []byte, out *[]*mst.Node) {
	*out = append(*out, n)
	child := -1
	for i, e := range n.Entries {
		if e.IsValue() {
			c := bytes.Compare(key, e.Key)
			if c == 0 {
				return
			}
			if c < 0 {
				break
			}
			child = -1
		}
		if e.IsChild() {
			child = i
		}
	}
	if child >= 0 && n.Entries[child].Child != nil {
		proofPath(n.Entries[child].Child, key, out)
	}
}
