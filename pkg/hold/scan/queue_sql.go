package scan

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"atcr.io/internal/sqlite"
	"atcr.io/pkg/oci"
)

// QueueFileName is the queue's database in the hold's data directory.
const QueueFileName = "scans.sqlite"

// queueSchema: jobs holds the scans to run (queued, or leased to a
// worker), at most one per manifest digest; its AUTOINCREMENT id only grows
// (the subscription cursor). manifests names every verified manifest
// (several users may push the same digest) for rescans and deletions;
// results keeps the outcome of each digest's last scan (counts for an
// index's summary, "scanned" for rescans); index_children links an image
// index to its linux platform manifests. Times are Unix milliseconds.
const queueSchema = `
CREATE TABLE IF NOT EXISTS jobs (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	digest      TEXT NOT NULL UNIQUE,
	manifest    TEXT NOT NULL,
	owner       TEXT NOT NULL,
	repository  TEXT NOT NULL,
	image       TEXT NOT NULL,
	state       TEXT NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	due_at      INTEGER NOT NULL,
	worker      TEXT NOT NULL DEFAULT '',
	lease_until INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_due ON jobs(state, due_at);
CREATE TABLE IF NOT EXISTS manifests (
	manifest    TEXT PRIMARY KEY,
	digest      TEXT NOT NULL,
	owner       TEXT NOT NULL,
	repository  TEXT NOT NULL,
	image       TEXT NOT NULL,
	is_index    INTEGER NOT NULL DEFAULT 0,
	rescan      INTEGER NOT NULL DEFAULT 0,
	verified_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS manifests_by_digest ON manifests(digest);
CREATE INDEX IF NOT EXISTS manifests_by_rescan ON manifests(rescan) WHERE rescan = 1;
CREATE TABLE IF NOT EXISTS results (
	digest     TEXT PRIMARY KEY,
	status     TEXT NOT NULL,
	critical   INTEGER NOT NULL,
	high       INTEGER NOT NULL,
	medium     INTEGER NOT NULL,
	low        INTEGER NOT NULL,
	total      INTEGER NOT NULL,
	scanner    TEXT NOT NULL,
	scanned_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS index_children (
	index_digest TEXT NOT NULL,
	child_digest TEXT NOT NULL,
	PRIMARY KEY (index_digest, child_digest)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS index_children_by_child ON index_children(child_digest);
`

// Job states in the jobs table.
const (
	stateQueued = "queued"
	stateLeased = "leased"
)

// openQueueDB opens (creating if needed) scans.sqlite in dir. A queued job
// must survive a power cut, so commits are synchronous; transactions take
// the write lock at BEGIN, so concurrent writers wait (busy timeout)
// instead of failing on a lock upgrade.
func openQueueDB(ctx context.Context, dir string) (*sql.DB, error) {
	path := filepath.Join(dir, QueueFileName)
	db, err := sqlite.Open(ctx, path, sqlite.Options{Synchronous: sqlite.SynchronousFull, ImmediateTx: true})
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, queueSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create schema in %s: %w", path, err)
	}
	return db, nil
}

func millis(t time.Time) int64 { return t.UnixMilli() }

// jobRow is a row of jobs.
type jobRow struct {
	Job
	state      string
	dueAt      int64
	worker     string
	leaseUntil int64
	lastError  string
}

const jobColumns = `id, digest, manifest, owner, repository, image, state, attempts, due_at, worker, lease_until, last_error`

// scanJob reads one jobs row.
func scanJob(row interface{ Scan(...any) error }) (jobRow, error) {
	var (
		j           jobRow
		digest, img string
		attempts    int
	)
	err := row.Scan(&j.ID, &digest, &j.Manifest, &j.Owner, &j.Repository, &img, &j.state, &attempts, &j.dueAt, &j.worker, &j.leaseUntil, &j.lastError)
	if err != nil {
		return jobRow{}, err
	}
	if j.Image, err = decodeImage(img); err != nil {
		return jobRow{}, fmt.Errorf("job %d: %w", j.ID, err)
	}
	if j.Image.Digest.String() != digest {
		return jobRow{}, fmt.Errorf("job %d: image digest %s is not the job's %s", j.ID, j.Image.Digest, digest)
	}
	j.Attempt = attempts
	return j, nil
}

// jobByID reads a job, or ok=false.
func jobByID(ctx context.Context, q querier, id int64) (jobRow, bool, error) {
	j, err := scanJob(q.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return jobRow{}, false, nil
	}
	if err != nil {
		return jobRow{}, false, fmt.Errorf("read scan job %d: %w", id, err)
	}
	return j, true, nil
}

// querier is *sql.DB or *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// storedImage is an Image as the queue stores it: an artifact may have no
// config, and the zero digest has no JSON form that reads back.
type storedImage struct {
	Digest       oci.Digest       `json:"digest"`
	MediaType    string           `json:"mediaType"`
	ArtifactType string           `json:"artifactType,omitempty"`
	Config       *oci.Descriptor  `json:"config,omitempty"`
	Layers       []oci.Descriptor `json:"layers,omitempty"`
}

func encodeImage(img Image) (string, error) {
	s := storedImage{Digest: img.Digest, MediaType: img.MediaType, ArtifactType: img.ArtifactType, Layers: img.Layers}
	if !img.Config.Digest.IsZero() {
		s.Config = &img.Config
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("encode image %s: %w", img.Digest, err)
	}
	return string(raw), nil
}

func decodeImage(raw string) (Image, error) {
	var s storedImage
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return Image{}, fmt.Errorf("decode image: %w", err)
	}
	img := Image{Digest: s.Digest, MediaType: s.MediaType, ArtifactType: s.ArtifactType, Layers: s.Layers}
	if s.Config != nil {
		img.Config = *s.Config
	}
	return img, nil
}
