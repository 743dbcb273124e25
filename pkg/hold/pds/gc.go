package pds

import (
	"context"
	"fmt"
	"strings"
)

// GCStats reports what GC removed.
type GCStats struct {
	BlocksDeleted int
	EventsDeleted int64
}

// GC deletes blocks no longer reachable from the head (old commits, replaced
// MST nodes, deleted or overwritten records) and prunes firehose events beyond
// the newest KeepEvents. It holds the write lock for its duration (about 0.1 s
// per 10k records); exports in flight read from their own snapshot and are
// not affected. Blobs are not collected here.
func (p *PDS) GC(ctx context.Context) (GCStats, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return GCStats{}, ErrClosed
	}
	liveList, err := p.liveCIDsLocked()
	if err != nil {
		return GCStats{}, err
	}
	live := make(map[string]struct{}, len(liveList))
	for _, c := range liveList {
		live[c.KeyString()] = struct{}{}
	}

	tx, err := p.db.BeginTx(ctx, nil)
	if err != nil {
		return GCStats{}, fmt.Errorf("begin gc tx: %w", err)
	}
	defer tx.Rollback() // no-op after Commit
	rows, err := tx.QueryContext(ctx, `SELECT cid FROM blocks`)
	if err != nil {
		return GCStats{}, fmt.Errorf("list blocks: %w", err)
	}
	var dead [][]byte
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			rows.Close()
			return GCStats{}, fmt.Errorf("scan block cid: %w", err)
		}
		if _, ok := live[string(raw)]; !ok {
			dead = append(dead, raw)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return GCStats{}, fmt.Errorf("list blocks: %w", err)
	}
	for start := 0; start < len(dead); start += insertBatch {
		chunk := dead[start:min(start+insertBatch, len(dead))]
		args := make([]any, len(chunk))
		for i, raw := range chunk {
			args[i] = raw
		}
		q := `DELETE FROM blocks WHERE cid IN (?` + strings.Repeat(",?", len(chunk)-1) + `)`
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return GCStats{}, fmt.Errorf("delete %d blocks: %w", len(chunk), err)
		}
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM events WHERE seq <= ?`, p.head.Seq-int64(p.keepEvents))
	if err != nil {
		return GCStats{}, fmt.Errorf("prune events: %w", err)
	}
	pruned, _ := res.RowsAffected()
	if err := tx.Commit(); err != nil {
		return GCStats{}, fmt.Errorf("commit gc: %w", err)
	}
	stats := GCStats{BlocksDeleted: len(dead), EventsDeleted: pruned}
	p.log.Info("repo gc", "blocks_deleted", stats.BlocksDeleted, "events_deleted", stats.EventsDeleted, "live_blocks", len(live))
	return stats, nil
}
