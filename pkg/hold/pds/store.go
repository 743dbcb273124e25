package pds

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"

	"atcr.io/internal/sqlite"
)

// dbFileName is the repository database inside the data directory.
const dbFileName = "repo.sqlite"

// schema: blocks holds every commit, MST node and record block with the rev
// that first wrote it (getRepo?since=); head is the only mutable pointer;
// events holds serialized #commit frames for cursor replay; blobs holds the
// ATProto blobs stored before they moved to S3 (and those of a PDS without
// Options.Blobs); blob_objects names the blobs kept in S3 under
// BlobKeyPrefix with their media type and size.
const schema = `
CREATE TABLE IF NOT EXISTS blocks (
	cid  BLOB PRIMARY KEY,
	data BLOB NOT NULL,
	rev  TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS blocks_by_rev ON blocks(rev);
CREATE TABLE IF NOT EXISTS head (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	commit_cid BLOB NOT NULL,
	data_cid   BLOB NOT NULL,
	rev        TEXT NOT NULL,
	seq        INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
	seq   INTEGER PRIMARY KEY,
	rev   TEXT NOT NULL,
	frame BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS blobs (
	cid        TEXT PRIMARY KEY,
	mime       TEXT NOT NULL,
	size       INTEGER NOT NULL,
	data       BLOB NOT NULL,
	created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS blob_objects (
	cid        TEXT PRIMARY KEY,
	mime       TEXT NOT NULL,
	size       INTEGER NOT NULL,
	created_at TEXT NOT NULL
);
`

// openDB opens (creating if needed) the repository database through
// internal/sqlite: WAL with synchronous=FULL, one WAL fsync per commit, so
// an acknowledged write survives power loss.
func openDB(ctx context.Context, dir string) (*sql.DB, error) {
	path := filepath.Join(dir, dbFileName)
	db, err := sqlite.Open(ctx, path, sqlite.Options{Synchronous: sqlite.SynchronousFull})
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create schema in %s: %w", path, err)
	}
	return db, nil
}

// headState is the durable repo head: the latest commit, its MST root, rev,
// and the firehose sequence number of the event that announced it.
type headState struct {
	Commit cid.Cid
	Data   cid.Cid
	Rev    string
	Seq    int64
}

// loadHead reads the head row; ok is false on a fresh database.
func loadHead(ctx context.Context, db *sql.DB) (h headState, ok bool, err error) {
	var commitRaw, dataRaw []byte
	err = db.QueryRowContext(ctx, `SELECT commit_cid, data_cid, rev, seq FROM head WHERE id = 1`).
		Scan(&commitRaw, &dataRaw, &h.Rev, &h.Seq)
	if errors.Is(err, sql.ErrNoRows) {
		return headState{}, false, nil
	}
	if err != nil {
		return headState{}, false, fmt.Errorf("read head: %w", err)
	}
	if h.Commit, err = cid.Cast(commitRaw); err != nil {
		return headState{}, false, fmt.Errorf("head commit cid: %w", err)
	}
	if h.Data, err = cid.Cast(dataRaw); err != nil {
		return headState{}, false, fmt.Errorf("head data cid: %w", err)
	}
	return h, true, nil
}

// insertBatch is how many blocks one INSERT statement carries (3 variables
// each, well under SQLite's variable limit).
const insertBatch = 300

// persistCommit stores a commit in one transaction: every diff block (tagged
// with the commit's rev), the new head, the serialized event frame and, via
// index, the secondary indexes' changes.
func persistCommit(ctx context.Context, db *sql.DB, diff *memBlocks, h headState, frame []byte, index func(context.Context, *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin commit tx: %w", err)
	}
	defer tx.Rollback() // no-op after Commit
	// One multi-row statement per batch: the driver re-parses SQL on every
	// Exec, which would otherwise dominate the commit's CPU time.
	for start := 0; start < len(diff.order); start += insertBatch {
		chunk := diff.order[start:min(start+insertBatch, len(diff.order))]
		args := make([]any, 0, 3*len(chunk))
		for _, b := range chunk {
			args = append(args, b.Cid().Bytes(), b.RawData(), h.Rev)
		}
		// A block written again (a re-created record, a proof node) takes
		// the newer rev, so getRepo?since= never misses a block a later
		// commit uses.
		q := `INSERT INTO blocks (cid, data, rev) VALUES (?, ?, ?)` + strings.Repeat(`, (?, ?, ?)`, len(chunk)-1) +
			` ON CONFLICT(cid) DO UPDATE SET rev = excluded.rev`
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("insert %d blocks: %w", len(chunk), err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO head (id, commit_cid, data_cid, rev, seq) VALUES (1, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET commit_cid = excluded.commit_cid, data_cid = excluded.data_cid,
		rev = excluded.rev, seq = excluded.seq`, h.Commit.Bytes(), h.Data.Bytes(), h.Rev, h.Seq); err != nil {
		return fmt.Errorf("update head: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO events (seq, rev, frame) VALUES (?, ?, ?)`, h.Seq, h.Rev, frame); err != nil {
		return fmt.Errorf("insert event %d: %w", h.Seq, err)
	}
	if err := index(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit tx: %w", err)
	}
	return nil
}

// queryer is what block reads need; both *sql.DB and *sql.Tx satisfy it.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readBlocks fetches up to a few hundred blocks in one query, keyed by CID
// key string. Absent blocks are simply missing from the map.
func readBlocks(ctx context.Context, q queryer, cids []cid.Cid) (map[string][]byte, error) {
	if len(cids) == 0 {
		return map[string][]byte{}, nil
	}
	args := make([]any, len(cids))
	for i, c := range cids {
		args[i] = c.Bytes()
	}
	rows, err := q.QueryContext(ctx, `SELECT cid, data FROM blocks WHERE cid IN (?`+strings.Repeat(",?", len(cids)-1)+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("read blocks: %w", err)
	}
	defer rows.Close()
	found := make(map[string][]byte, len(cids))
	for rows.Next() {
		var raw, data []byte
		if err := rows.Scan(&raw, &data); err != nil {
			return nil, fmt.Errorf("scan block: %w", err)
		}
		found[string(raw)] = data
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read blocks: %w", err)
	}
	return found, nil
}

// sqlBlocks reads blocks from the database. It is the MST's block source when
// the tree is loaded at startup or after a failed write.
type sqlBlocks struct{ q queryer }

// Get returns the block or an ipld.ErrNotFound, which mst.LoadTreeFromStore
// treats as "partial tree" (checked with IsPartial at startup).
func (s sqlBlocks) Get(ctx context.Context, c cid.Cid) (blocks.Block, error) {
	data, err := s.getRaw(ctx, c)
	if err != nil {
		return nil, err
	}
	return blocks.NewBlockWithCid(data, c)
}

func (s sqlBlocks) getRaw(ctx context.Context, c cid.Cid) ([]byte, error) {
	var data []byte
	err := s.q.QueryRowContext(ctx, `SELECT data FROM blocks WHERE cid = ?`, c.Bytes()).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &ipld.ErrNotFound{Cid: c}
	}
	if err != nil {
		return nil, fmt.Errorf("read block %s: %w", c, err)
	}
	return data, nil
}

// memBlocks collects the blocks of one commit in write order. It implements
// the blockstore interface mst.Tree.WriteDiffBlocks wants.
type memBlocks struct {
	order []blocks.Block
	byKey map[string]blocks.Block
	size  int
}

func newMemBlocks() *memBlocks {
	return &memBlocks{byKey: make(map[string]blocks.Block)}
}

func (m *memBlocks) Put(_ context.Context, b blocks.Block) error {
	k := b.Cid().KeyString()
	if _, ok := m.byKey[k]; ok {
		return nil
	}
	m.byKey[k] = b
	m.order = append(m.order, b)
	m.size += len(b.RawData())
	return nil
}

func (m *memBlocks) PutMany(ctx context.Context, bs []blocks.Block) error {
	for _, b := range bs {
		if err := m.Put(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

func (m *memBlocks) Get(_ context.Context, c cid.Cid) (blocks.Block, error) {
	if b, ok := m.byKey[c.KeyString()]; ok {
		return b, nil
	}
	return nil, &ipld.ErrNotFound{Cid: c}
}

func (m *memBlocks) Has(_ context.Context, c cid.Cid) (bool, error) {
	_, ok := m.byKey[c.KeyString()]
	return ok, nil
}

func (m *memBlocks) GetSize(ctx context.Context, c cid.Cid) (int, error) {
	b, err := m.Get(ctx, c)
	if err != nil {
		return 0, err
	}
	return len(b.RawData()), nil
}

// DeleteBlock is never called by the MST; a diff only grows.
func (m *memBlocks) DeleteBlock(context.Context, cid.Cid) error {
	return errors.New("memBlocks: delete not supported")
}

func (m *memBlocks) AllKeysChan(ctx context.Context) (<-chan cid.Cid, error) {
	ch := make(chan cid.Cid, len(m.order))
	for _, b := range m.order {
		ch <- b.Cid()
	}
	close(ch)
	return ch, nil
}

func (m *memBlocks) HashOnRead(bool) {}
