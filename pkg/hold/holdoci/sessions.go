package holdoci

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/internal/sqlite"
)

// sessionsFileName is the session database inside the data directory.
const sessionsFileName = "uploads.sqlite"

// errSessionNotFound is returned (wrapped) by sessionStore.get for an
// unknown session ID.
var errSessionNotFound = errors.New("upload session not found")

// session is one upload in progress.
type session struct {
	ID         string // ours: 32 lowercase hex characters, the staging key's name
	S3UploadID string // S3's multipart upload ID, never shown to callers
	Owner      syntax.DID
	// ExpectedDigest is the digest given to initiateUpload, "" when unknown.
	ExpectedDigest string
	Created        time.Time
	Expires        time.Time
	// Assembled is set once S3 completed the multipart upload: the staging
	// object exists and the S3 upload ID is spent.
	Assembled bool
}

// expired reports whether the session is past its expiry at now.
func (s session) expired(now time.Time) bool { return !now.Before(s.Expires) }

const sessionsSchema = `
CREATE TABLE IF NOT EXISTS upload_sessions (
	id              TEXT PRIMARY KEY,
	s3_upload_id    TEXT NOT NULL,
	owner_did       TEXT NOT NULL,
	expected_digest TEXT NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	expires_at      INTEGER NOT NULL,
	assembled       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS upload_sessions_by_expiry ON upload_sessions(expires_at);
CREATE INDEX IF NOT EXISTS upload_sessions_by_owner ON upload_sessions(owner_did);
CREATE INDEX IF NOT EXISTS upload_sessions_by_digest ON upload_sessions(expected_digest);
` + stateSchema

// sessionStore keeps sessions in SQLite so that a restart of the hold does
// not orphan uploads in flight (times are Unix milliseconds).
type sessionStore struct{ db *sql.DB }

// openSessionStore opens <dir>/uploads.sqlite (mode 0600) in WAL mode with
// synchronous=NORMAL: every push writes here several times (a session, its
// parts, pins of the blobs it checks, its completion), and a WAL sync per
// write cost a push more than its blob's own fsync. A commit survives a
// crash of the process; a power loss can take the last ones back, and each
// of them fails loudly rather than losing an image: a lost session or part
// makes the client upload the blob again, a lost pin lets GC collect a blob
// whose manifest then fails notifyManifest (BlobNotFound, the push fails),
// a lost pending blob is charged to quota at the next notification, and a
// lost announcement at worst posts a push twice. The repository (layer
// records, quota) stays synchronous=FULL (pkg/hold/pds).
func openSessionStore(ctx context.Context, dir string) (*sessionStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir %s: %w", dir, err)
	}
	path := filepath.Join(dir, sessionsFileName)
	// internal/sqlite creates the file 0600 (its -wal and -shm follow):
	// it names users and S3 upload IDs.
	db, err := sqlite.Open(ctx, path, sqlite.Options{Synchronous: sqlite.SynchronousNormal})
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, sessionsSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create schema in %s: %w", path, err)
	}
	if err := migrateSessions(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return &sessionStore{db: db}, nil
}

func (s *sessionStore) close() error { return s.db.Close() }

// newSessionID returns 128 random bits as 32 lowercase hex characters, a
// valid s3.ValidateUploadID value.
func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

func (s *sessionStore) insert(ctx context.Context, sess session) error {
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO upload_sessions (id, s3_upload_id, owner_did, expected_digest, created_at, expires_at, assembled)
		 VALUES (?, ?, ?, ?, ?, ?, ?)`,
		sess.ID, sess.S3UploadID, sess.Owner.String(), sess.ExpectedDigest,
		sess.Created.UnixMilli(), sess.Expires.UnixMilli(), sess.Assembled)
	if err != nil {
		return fmt.Errorf("insert upload session %s: %w", sess.ID, err)
	}
	return nil
}

const sessionColumns = `id, s3_upload_id, owner_did, expected_digest, created_at, expires_at, assembled`

type rowScanner interface{ Scan(dest ...any) error }

func scanSession(row rowScanner) (session, error) {
	var (
		sess             session
		owner            string
		created, expires int64
	)
	err := row.Scan(&sess.ID, &sess.S3UploadID, &owner, &sess.ExpectedDigest, &created, &expires, &sess.Assembled)
	if err != nil {
		return session{}, err
	}
	sess.Owner = syntax.DID(owner)
	sess.Created = time.UnixMilli(created).UTC()
	sess.Expires = time.UnixMilli(expires).UTC()
	return sess, nil
}

// get returns the session or an error wrapping errSessionNotFound.
func (s *sessionStore) get(ctx context.Context, id string) (session, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM upload_sessions WHERE id = ?`, id)
	sess, err := scanSession(row)
	if errors.Is(err, sql.ErrNoRows) {
		return session{}, fmt.Errorf("%w: %s", errSessionNotFound, id)
	}
	if err != nil {
		return session{}, fmt.Errorf("read upload session %s: %w", id, err)
	}
	return sess, nil
}

func (s *sessionStore) markAssembled(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE upload_sessions SET assembled = 1 WHERE id = ?`, id); err != nil {
		return fmt.Errorf("mark upload session %s assembled: %w", id, err)
	}
	return nil
}

// delete removes the session; a missing one is not an error.
func (s *sessionStore) delete(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM upload_sessions WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete upload session %s: %w", id, err)
	}
	return nil
}

// expiredBefore returns up to limit sessions whose expiry is at or before now,
// oldest first.
func (s *sessionStore) expiredBefore(ctx context.Context, now time.Time, limit int) ([]session, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+sessionColumns+` FROM upload_sessions WHERE expires_at <= ? ORDER BY expires_at LIMIT ?`,
		now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("list expired upload sessions: %w", err)
	}
	defer rows.Close()
	var out []session
	for rows.Next() {
		sess, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("read expired upload session: %w", err)
		}
		out = append(out, sess)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list expired upload sessions: %w", err)
	}
	return out, nil
}
