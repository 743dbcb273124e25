package index

import (
	"context"
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// Push is one entry of the home page's recent pushes: a tag, newest move
// first, with what it points at.
type Push struct {
	Owner      syntax.DID
	Handle     string
	Repository string
	Tag        string
	Digest     string
	// MediaType, Size and HoldDID are "" / 0 while the manifest record is
	// not indexed.
	MediaType string
	Size      int64
	HoldDID   string
	PushedAt  time.Time
}

// RecentPushes lists tags by when they were last moved, newest first.
func (s *Store) RecentPushes(ctx context.Context, p Page) ([]Push, bool, error) {
	limit, offset := p.bounds()
	rows, err := s.sql.QueryContext(ctx, `SELECT t.did, coalesce(u.handle, ''), t.repository, t.tag, t.digest,
			coalesce(m.media_type, ''), coalesce(m.size, 0), coalesce(m.hold_did, ''), t.updated_at
		FROM tags t
		LEFT JOIN users u ON u.did = t.did
		LEFT JOIN manifests m ON m.did = t.did AND m.rkey = (SELECT rkey FROM manifests
			WHERE did = t.did AND repository = t.repository AND digest = t.digest ORDER BY created_at DESC LIMIT 1)
		ORDER BY t.updated_at DESC, t.did, t.rkey
		LIMIT ? OFFSET ?`, limit, offset)
	if err != nil {
		return nil, false, fmt.Errorf("read recent pushes: %w", err)
	}
	defer rows.Close()
	var out []Push
	for rows.Next() {
		var e Push
		var owner string
		var at int64
		if err := rows.Scan(&owner, &e.Handle, &e.Repository, &e.Tag, &e.Digest, &e.MediaType, &e.Size, &e.HoldDID, &at); err != nil {
			return nil, false, fmt.Errorf("read recent pushes: %w", err)
		}
		e.Owner, e.PushedAt = syntax.DID(owner), fromUnix(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("read recent pushes: %w", err)
	}
	out, more := trim(out, p)
	return out, more, nil
}

// MostStarred lists repositories by distinct starrers, most first.
func (s *Store) MostStarred(ctx context.Context, p Page) ([]RepositorySummary, bool, error) {
	return s.pagedSummaries(ctx, "read most starred", `WITH top AS (
			SELECT r.id, count(DISTINCT s.did) AS n FROM stars s
			JOIN repositories r ON r.did = s.subject_did AND r.repository = s.subject_repository
			GROUP BY r.id)
		SELECT `+summaryColumns+` FROM top JOIN repositories r ON r.id = top.id LEFT JOIN users u ON u.did = r.did
		ORDER BY top.n DESC, r.last_push_at DESC, r.id LIMIT ? OFFSET ?`, p)
}

// MostPulled lists repositories by pull count, most first; repositories
// never pulled are not listed.
func (s *Store) MostPulled(ctx context.Context, p Page) ([]RepositorySummary, bool, error) {
	return s.pagedSummaries(ctx, "read most pulled", `SELECT `+summaryColumns+`
		FROM repository_stats st
		JOIN repositories r ON r.did = st.did AND r.repository = st.repository
		LEFT JOIN users u ON u.did = r.did
		WHERE st.pull_count > 0
		ORDER BY st.pull_count DESC, r.id LIMIT ? OFFSET ?`, p)
}

// UserRepositories lists did's repositories, most recently pushed first.
func (s *Store) UserRepositories(ctx context.Context, did string, p Page) ([]RepositorySummary, bool, error) {
	return s.pagedSummaries(ctx, "read repositories of "+truncate(did), `SELECT `+summaryColumns+`
		FROM repositories r LEFT JOIN users u ON u.did = r.did
		WHERE r.did = ? ORDER BY r.last_push_at DESC, r.repository LIMIT ? OFFSET ?`, p, did)
}

// UserStars lists the repositories did has starred, newest star first.
// Stars on repositories the index does not have are not listed.
func (s *Store) UserStars(ctx context.Context, did string, p Page) ([]RepositorySummary, bool, error) {
	return s.pagedSummaries(ctx, "read stars of "+truncate(did), `WITH mine AS (
			SELECT subject_did, subject_repository, max(created_at) AS at FROM stars WHERE did = ?
			GROUP BY subject_did, subject_repository)
		SELECT `+summaryColumns+` FROM mine
		JOIN repositories r ON r.did = mine.subject_did AND r.repository = mine.subject_repository
		LEFT JOIN users u ON u.did = r.did
		ORDER BY mine.at DESC, r.id LIMIT ? OFFSET ?`, p, did)
}
