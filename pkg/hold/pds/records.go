package pds

import (
	"bytes"
	"context"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/bluesky-social/indigo/atproto/syntax"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
)

// Record is one record as returned by ListRecords.
type Record struct {
	URI   syntax.ATURI
	RKey  syntax.RecordKey
	CID   string
	Value map[string]any
}

// prepareWrite validates one write and encodes its record (outside the lock).
func (p *PDS) prepareWrite(w Write) (preparedWrite, error) {
	if _, err := syntax.ParseNSID(w.Collection.String()); err != nil {
		return preparedWrite{}, fmt.Errorf("%w: collection: %w", ErrInvalidWrite, err)
	}
	if w.Op == Create && w.RKey == "" {
		w.RKey = syntax.RecordKey(p.NextTID().String())
	}
	if _, err := syntax.ParseRecordKey(w.RKey.String()); err != nil {
		return preparedWrite{}, fmt.Errorf("%w: record key: %w", ErrInvalidWrite, err)
	}
	pw := preparedWrite{
		w:    w,
		path: w.Collection.String() + "/" + w.RKey.String(),
		uri:  syntax.ATURI("at://" + p.did.String() + "/" + w.Collection.String() + "/" + w.RKey.String()),
	}
	if w.SwapRecord != "" {
		if w.Op == Create {
			return preparedWrite{}, fmt.Errorf("%w: swapRecord on create", ErrInvalidWrite)
		}
		c, err := cid.Decode(w.SwapRecord)
		if err != nil {
			return preparedWrite{}, fmt.Errorf("%w: swapRecord: %w", ErrInvalidWrite, err)
		}
		pw.swap = &c
	}
	switch w.Op {
	case Delete:
		return pw, nil
	case Create, Update:
	default:
		return preparedWrite{}, fmt.Errorf("%w: unknown op %d", ErrInvalidWrite, w.Op)
	}
	blk, val, err := p.encodeRecord(w.Collection, w.Record)
	if err != nil {
		return preparedWrite{}, err
	}
	pw.block, pw.value = blk, val
	return pw, nil
}

// encodeRecord copies and normalises the record, sets $type, runs the
// Validate hook and encodes it as a DAG-CBOR block. It also returns the
// normalised copy, which is what indexes see.
func (p *PDS) encodeRecord(coll syntax.NSID, rec map[string]any) (blocks.Block, map[string]any, error) {
	if rec == nil {
		return nil, nil, fmt.Errorf("%w: missing record value", ErrInvalidRecord)
	}
	val, err := copyRecord(rec)
	if err != nil {
		return nil, nil, err
	}
	if t, ok := val["$type"]; ok && t != coll.String() {
		return nil, nil, fmt.Errorf("%w: $type %v does not match collection %s", ErrInvalidRecord, t, coll)
	}
	val["$type"] = coll.String()
	if p.validate != nil {
		if err := p.validate(coll.String(), val); err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
		}
	}
	raw, err := atdata.MarshalCBOR(val)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: encode: %w", ErrInvalidRecord, err)
	}
	if len(raw) > atdata.MAX_CBOR_RECORD_SIZE {
		return nil, nil, fmt.Errorf("%w: %d bytes encoded, limit %d", ErrInvalidRecord, len(raw), atdata.MAX_CBOR_RECORD_SIZE)
	}
	c, err := cborCID.Sum(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("record cid: %w", err)
	}
	blk, err := blocks.NewBlockWithCid(raw, c)
	return blk, val, err
}

// CreateRecord creates a record; rkey "" picks a fresh TID. It fails with
// ErrRecordExists when the key is taken.
func (p *PDS) CreateRecord(ctx context.Context, coll syntax.NSID, rkey syntax.RecordKey, rec map[string]any) (syntax.ATURI, string, error) {
	return p.writeOne(ctx, Write{Op: Create, Collection: coll, RKey: rkey, Record: rec})
}

// PutRecord creates or replaces a record. Writing the same content again is a
// no-op and produces no commit.
func (p *PDS) PutRecord(ctx context.Context, coll syntax.NSID, rkey syntax.RecordKey, rec map[string]any) (syntax.ATURI, string, error) {
	return p.writeOne(ctx, Write{Op: Update, Collection: coll, RKey: rkey, Record: rec})
}

// DeleteRecord deletes a record; ErrRecordNotFound when it does not exist.
func (p *PDS) DeleteRecord(ctx context.Context, coll syntax.NSID, rkey syntax.RecordKey) error {
	_, _, err := p.writeOne(ctx, Write{Op: Delete, Collection: coll, RKey: rkey})
	return err
}

func (p *PDS) writeOne(ctx context.Context, w Write) (syntax.ATURI, string, error) {
	res, err := p.ApplyWrites(ctx, []Write{w})
	if err != nil {
		return "", "", err
	}
	return res.Results[0].URI, res.Results[0].CID, nil
}

// GetRecord returns a record's value (atdata types: int64, atdata.CIDLink,
// atdata.Bytes, atdata.Blob) and CID, or ErrRecordNotFound.
func (p *PDS) GetRecord(ctx context.Context, coll syntax.NSID, rkey syntax.RecordKey) (map[string]any, string, error) {
	raw, c, err := p.getRecordRaw(ctx, coll, rkey)
	if err != nil {
		return nil, "", err
	}
	val, err := atdata.UnmarshalCBOR(raw)
	if err != nil {
		return nil, "", fmt.Errorf("decode record %s/%s: %w", coll, rkey, err)
	}
	return val, c.String(), nil
}

// getRecordRaw returns the record's CBOR bytes and CID.
func (p *PDS) getRecordRaw(ctx context.Context, coll syntax.NSID, rkey syntax.RecordKey) ([]byte, cid.Cid, error) {
	path := coll.String() + "/" + rkey.String()
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return nil, cid.Undef, ErrClosed
	}
	c, err := p.tree.Get([]byte(path))
	if err != nil {
		return nil, cid.Undef, fmt.Errorf("%w: %s: %w", ErrRecordNotFound, path, err) // invalid key
	}
	if c == nil {
		return nil, cid.Undef, fmt.Errorf("%w: %s", ErrRecordNotFound, path)
	}
	raw, err := sqlBlocks{p.db}.getRaw(ctx, *c)
	if err != nil {
		return nil, cid.Undef, fmt.Errorf("read record %s: %w", path, err)
	}
	return raw, *c, nil
}

// ListRecords lists a collection with com.atproto.repo.listRecords semantics:
// by default newest first (descending record key), reverse=true for
// ascending. cursor is the last record key of the previous page (exclusive);
// next is "" when the listing is exhausted. limit defaults to 50, at most 100.
func (p *PDS) ListRecords(ctx context.Context, coll syntax.NSID, limit int, cursor string, reverse bool) ([]Record, string, error) {
	switch {
	case limit <= 0:
		limit = 50
	case limit > 100:
		limit = 100
	}
	if cursor != "" {
		if _, err := syntax.ParseRecordKey(cursor); err != nil {
			return nil, "", fmt.Errorf("%w: %w", ErrInvalidCursor, err)
		}
	}
	prefix := coll.String() + "/"
	type entry struct {
		key string
		cid cid.Cid
	}
	var found []entry
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		return nil, "", ErrClosed
	}
	visit := func(key []byte, val cid.Cid) bool {
		if !bytes.HasPrefix(key, []byte(prefix)) {
			return false
		}
		found = append(found, entry{string(key), val})
		return len(found) < limit
	}
	if reverse {
		start := []byte(prefix) // keys sort after the bare prefix
		if cursor != "" {
			start = []byte(prefix + cursor)
		}
		walkAscending(p.tree.Root, start, visit)
	} else {
		end := []byte(prefix + "\x7f") // past every rkey (rkeys are ASCII)
		if cursor != "" {
			end = []byte(prefix + cursor)
		}
		walkDescending(p.tree.Root, end, visit)
	}
	cids := make([]cid.Cid, len(found))
	for i, e := range found {
		cids[i] = e.cid
	}
	blocksByCID, err := readBlocks(ctx, p.db, cids)
	p.mu.RUnlock()
	if err != nil {
		return nil, "", err
	}
	out := make([]Record, 0, len(found))
	for _, e := range found {
		raw, ok := blocksByCID[e.cid.KeyString()]
		if !ok {
			return nil, "", fmt.Errorf("record %s: block %s missing from the store", e.key, e.cid)
		}
		val, err := atdata.UnmarshalCBOR(raw)
		if err != nil {
			return nil, "", fmt.Errorf("decode record %s: %w", e.key, err)
		}
		out = append(out, Record{
			URI:   syntax.ATURI("at://" + p.did.String() + "/" + e.key),
			RKey:  syntax.RecordKey(e.key[len(prefix):]),
			CID:   e.cid.String(),
			Value: val,
		})
	}
	next := ""
	if len(out) == limit {
		next = out[len(out)-1].RKey.String()
	}
	return out, next, nil
}

// Collections lists the collections that hold at least one record.
func (p *PDS) Collections() ([]string, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return nil, ErrClosed
	}
	colls := collections(p.tree.Root)
	if colls == nil {
		colls = []string{}
	}
	return colls, nil
}
