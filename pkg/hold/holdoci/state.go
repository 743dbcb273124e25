package holdoci

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// stateSchema is the hold's bookkeeping beside the upload sessions:
//
//   - announcements: manifests already announced on Bluesky (at most one
//     post per manifest, across restarts);
//   - blob_pins: when a push step last found or stored a blob (a HEAD by
//     a writer, a mount, the completion of an upload of a stored digest):
//     garbage collection judges a blob's age by the later of this and its
//     S3 modification time;
//   - pending_blobs: blobs a user completed that no layer record of theirs
//     names yet; they count against the user's quota until a notification
//     records them, garbage collection deletes them, or they expire.
const stateSchema = `
CREATE TABLE IF NOT EXISTS announcements (
	manifest_uri TEXT PRIMARY KEY,
	announced_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS blob_pins (
	digest        TEXT PRIMARY KEY,
	referenced_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS blob_pins_by_time ON blob_pins(referenced_at);
CREATE TABLE IF NOT EXISTS pending_blobs (
	owner_did    TEXT NOT NULL,
	digest       TEXT NOT NULL,
	size         INTEGER NOT NULL,
	completed_at INTEGER NOT NULL,
	PRIMARY KEY (owner_did, digest)
);
CREATE INDEX IF NOT EXISTS pending_blobs_by_time ON pending_blobs(completed_at);
CREATE INDEX IF NOT EXISTS pending_blobs_by_digest ON pending_blobs(digest);
`

// sessionColumnsAdded are the upload_sessions columns later versions added,
// for databases created before them.
var sessionColumnsAdded = []struct{ name, decl string }{
	{"staged_bytes", "INTEGER NOT NULL DEFAULT 0"},
	{"has_parts", "INTEGER NOT NULL DEFAULT 0"},
}

// migrateSessions adds missing columns to an older upload_sessions table.
func migrateSessions(ctx context.Context, db *sql.DB) error {
	have := map[string]bool{}
	rows, err := db.QueryContext(ctx, `SELECT name FROM pragma_table_info('upload_sessions')`)
	if err != nil {
		return fmt.Errorf("read upload_sessions columns: %w", err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return fmt.Errorf("read upload_sessions columns: %w", err)
		}
		have[name] = true
	}
	rows.Close()
	for _, c := range sessionColumnsAdded {
		if have[c.name] {
			continue
		}
		if _, err := db.ExecContext(ctx, `ALTER TABLE upload_sessions ADD COLUMN `+c.name+` `+c.decl); err != nil {
			return fmt.Errorf("add upload_sessions.%s: %w", c.name, err)
		}
	}
	return nil
}

// claimAnnouncement records that the manifest is being announced; false
// means it was announced (or is being announced) already.
func (s *sessionStore) claimAnnouncement(ctx context.Context, manifest syntax.ATURI, now time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO announcements (manifest_uri, announced_at) VALUES (?, ?)`,
		manifest.String(), now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("claim announcement of %s: %w", manifest, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// releaseAnnouncement forgets a claim whose post was not made.
func (s *sessionStore) releaseAnnouncement(ctx context.Context, manifest syntax.ATURI) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM announcements WHERE manifest_uri = ?`, manifest.String()); err != nil {
		return fmt.Errorf("release announcement of %s: %w", manifest, err)
	}
	return nil
}

// pin records that a push step found or stored the blob at now.
func (s *sessionStore) pin(ctx context.Context, digest string, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO blob_pins (digest, referenced_at) VALUES (?, ?)
		ON CONFLICT(digest) DO UPDATE SET referenced_at = max(referenced_at, excluded.referenced_at)`,
		digest, now.UnixMilli())
	if err != nil {
		return fmt.Errorf("pin %s: %w", digest, err)
	}
	return nil
}

// pinnedSince reports whether a push step referenced the blob at or after
// since, or an upload session that has not expired names it as its
// expected digest (a push uploading it right now).
func (s *sessionStore) pinnedSince(ctx context.Context, digest string, since, now time.Time) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx, `
		SELECT 1 FROM blob_pins WHERE digest = ? AND referenced_at >= ?
		UNION ALL
		SELECT 1 FROM upload_sessions WHERE expected_digest = ? AND expires_at > ?
		LIMIT 1`, digest, since.UnixMilli(), digest, now.UnixMilli()).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read pins of %s: %w", digest, err)
	}
	return true, nil
}

// prunePins drops pins older than before.
func (s *sessionStore) prunePins(ctx context.Context, before time.Time) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM blob_pins WHERE referenced_at < ?`, before.UnixMilli()); err != nil {
		return fmt.Errorf("prune blob pins: %w", err)
	}
	return nil
}

// addPending records a completed blob the user has no layer record for.
func (s *sessionStore) addPending(ctx context.Context, owner syntax.DID, digest string, size int64, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO pending_blobs (owner_did, digest, size, completed_at) VALUES (?, ?, ?, ?)
		ON CONFLICT(owner_did, digest) DO UPDATE SET size = excluded.size, completed_at = excluded.completed_at`,
		owner.String(), digest, size, now.UnixMilli())
	if err != nil {
		return fmt.Errorf("record pending blob %s: %w", digest, err)
	}
	return nil
}

// removePending forgets the user's pending blobs among digests.
func (s *sessionStore) removePending(ctx context.Context, owner syntax.DID, digests []string) error {
	for _, d := range digests {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM pending_blobs WHERE owner_did = ? AND digest = ?`, owner.String(), d); err != nil {
			return fmt.Errorf("forget pending blob %s: %w", d, err)
		}
	}
	return nil
}

// removePendingDigest forgets every user's pending entry for digest (the
// blob is gone).
func (s *sessionStore) removePendingDigest(ctx context.Context, digest string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM pending_blobs WHERE digest = ?`, digest); err != nil {
		return fmt.Errorf("forget pending blob %s: %w", digest, err)
	}
	return nil
}

// prunePending drops pending blobs completed before before.
func (s *sessionStore) prunePending(ctx context.Context, before time.Time) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM pending_blobs WHERE completed_at < ?`, before.UnixMilli()); err != nil {
		return fmt.Errorf("prune pending blobs: %w", err)
	}
	return nil
}

// unrecordedBytes is what a user has in flight on this hold outside their
// layer records: completed blobs not yet announced (other than exclude)
// plus the bytes staged in their other open upload sessions.
func (s *sessionStore) unrecordedBytes(ctx context.Context, owner syntax.DID, excludeDigest, excludeSession string, now time.Time) (int64, error) {
	var pending, staged sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT sum(size) FROM pending_blobs WHERE owner_did = ? AND digest != ?`,
		owner.String(), excludeDigest).Scan(&pending); err != nil {
		return 0, fmt.Errorf("sum pending blobs: %w", err)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT sum(staged_bytes) FROM upload_sessions WHERE owner_did = ? AND id != ? AND expires_at > ?`,
		owner.String(), excludeSession, now.UnixMilli()).Scan(&staged); err != nil {
		return 0, fmt.Errorf("sum staged bytes: %w", err)
	}
	return pending.Int64 + staged.Int64, nil
}

// openSessions counts the user's sessions that have not expired.
func (s *sessionStore) openSessions(ctx context.Context, owner syntax.DID, now time.Time) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM upload_sessions WHERE owner_did = ? AND expires_at > ?`,
		owner.String(), now.UnixMilli()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count upload sessions: %w", err)
	}
	return n, nil
}

// stagedBytes sums the bytes staged in the user's open sessions.
func (s *sessionStore) stagedBytes(ctx context.Context, owner syntax.DID, now time.Time) (int64, error) {
	var n sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT sum(staged_bytes) FROM upload_sessions WHERE owner_did = ? AND expires_at > ?`,
		owner.String(), now.UnixMilli()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sum staged bytes: %w", err)
	}
	return n.Int64, nil
}

// addPart records a part of n bytes received for the session (n = 0 for
// a presigned part URL handed out): the session has parts from now on and
// lives until created + ttl, no longer the short life of an empty session.
func (s *sessionStore) addPart(ctx context.Context, sess session, n int64, ttl time.Duration) (session, error) {
	expires := sess.Created.Add(ttl)
	if _, err := s.db.ExecContext(ctx, `UPDATE upload_sessions SET staged_bytes = staged_bytes + ?, has_parts = 1,
		expires_at = max(expires_at, ?) WHERE id = ?`, n, expires.UnixMilli(), sess.ID); err != nil {
		return sess, fmt.Errorf("record part of upload session %s: %w", sess.ID, err)
	}
	if expires.After(sess.Expires) {
		sess.Expires = expires
	}
	return sess, nil
}
