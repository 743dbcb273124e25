package pds

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/bluesky-social/indigo/atproto/repo"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"
)

// importBatchBytes caps the record bytes gathered into one import commit, so
// the commit (records + MST nodes) stays under MaxCommitBytes.
const importBatchBytes = 1_000_000

// Import reads a repository CAR (e.g. from Export on another data dir) and
// writes every record into this repository as create-or-update, in commits of
// at most MaxCommitOps writes. New commits are signed with this hold's key.
// Records already identical here produce no commit. The record count is
// logged.
func (p *PDS) Import(ctx context.Context, r io.Reader) error {
	_, src, err := repo.LoadRepoFromCAR(ctx, r)
	if err != nil {
		return fmt.Errorf("load CAR: %w", err)
	}
	if src.MST.IsPartial() {
		return errors.New("load CAR: repository is missing MST blocks")
	}
	var batch []Write
	batchBytes, total := 0, 0
	err = src.MST.Walk(func(key []byte, val cid.Cid) error {
		coll, rkey, err := syntax.ParseRepoPath(string(key))
		if err != nil {
			return fmt.Errorf("record path %q: %w", key, err)
		}
		blk, err := src.RecordStore.Get(ctx, val)
		if err != nil {
			return fmt.Errorf("record %s: %w", key, err)
		}
		// The CAR is untrusted input: check the block hashes to its CID.
		if sum, err := val.Prefix().Sum(blk.RawData()); err != nil || !sum.Equals(val) {
			return fmt.Errorf("record %s: block does not match its CID", key)
		}
		rec, err := atdata.UnmarshalCBOR(blk.RawData())
		if err != nil {
			return fmt.Errorf("decode record %s: %w", key, err)
		}
		batch = append(batch, Write{Op: Update, Collection: coll, RKey: rkey, Record: rec})
		batchBytes += len(blk.RawData())
		total++
		if len(batch) == MaxCommitOps || batchBytes >= importBatchBytes {
			if err := p.applySplitting(ctx, batch); err != nil {
				return err
			}
			batch, batchBytes = nil, 0
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if len(batch) > 0 {
		if err := p.applySplitting(ctx, batch); err != nil {
			return fmt.Errorf("import: %w", err)
		}
	}
	p.log.Info("imported repository", "records", total)
	return nil
}

// applySplitting applies writes, halving the batch whenever the commit would
// exceed MaxCommitBytes.
func (p *PDS) applySplitting(ctx context.Context, writes []Write) error {
	_, err := p.ApplyWrites(ctx, writes)
	if errors.Is(err, ErrCommitTooLarge) && len(writes) > 1 {
		half := len(writes) / 2
		if err := p.applySplitting(ctx, writes[:half]); err != nil {
			return err
		}
		return p.applySplitting(ctx, writes[half:])
	}
	return err
}
