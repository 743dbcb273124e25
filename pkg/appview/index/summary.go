package index

import (
	"context"
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// Page selects a slice of a list. Limit is clamped to 1…MaxPageSize
// (DefaultPageSize when zero); a negative Offset is 0.
type Page struct {
	Limit, Offset int
}

// Page sizes.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// bounds returns the LIMIT (one more than asked, to learn whether there is
// a next page) and OFFSET of p.
func (p Page) bounds() (limit, offset int) {
	limit = p.Limit
	if limit <= 0 {
		limit = DefaultPageSize
	}
	return min(limit, MaxPageSize) + 1, max(p.Offset, 0)
}

// trim cuts the extra row bounds asked for and reports whether it existed.
func trim[T any](items []T, p Page) ([]T, bool) {
	limit, _ := p.bounds()
	if len(items) == limit {
		return items[:limit-1], true
	}
	return items, false
}

// RepositorySummary is a repository in a list (home page, search, user
// page).
type RepositorySummary struct {
	Owner syntax.DID
	// Handle is the owner's handle, "" while unknown.
	Handle     string
	Repository string
	// Description is the repo page's shortDescription, else the
	// org.opencontainers.image.description annotation.
	Description string
	// AvatarCID is the repo page's avatar blob, "" when none.
	AvatarCID string
	Stars     int64
	Pulls     int64
	LastPush  time.Time
}

// summaryColumns select a RepositorySummary from repositories r joined
// with users u.
const summaryColumns = `r.did, coalesce(u.handle, ''), r.repository,
	coalesce((SELECT nullif(short_description, '') FROM repo_pages p WHERE p.did = r.did AND p.repository = r.repository LIMIT 1),
		(SELECT value FROM repository_annotations a
		WHERE a.did = r.did AND a.repository = r.repository AND a.key = 'org.opencontainers.image.description'), ''),
	coalesce((SELECT avatar_cid FROM repo_pages p WHERE p.did = r.did AND p.repository = r.repository LIMIT 1), ''),
	(SELECT count(DISTINCT s.did) FROM stars s WHERE s.subject_did = r.did AND s.subject_repository = r.repository),
	coalesce((SELECT pull_count FROM repository_stats st WHERE st.did = r.did AND st.repository = r.repository), 0),
	r.last_push_at`

// querySummaries runs a query selecting summaryColumns.
func (s *Store) querySummaries(ctx context.Context, what, query string, args ...any) ([]RepositorySummary, error) {
	rows, err := s.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []RepositorySummary
	for rows.Next() {
		var r RepositorySummary
		var owner string
		var last int64
		if err := rows.Scan(&owner, &r.Handle, &r.Repository, &r.Description, &r.AvatarCID, &r.Stars, &r.Pulls, &last); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		r.Owner, r.LastPush = syntax.DID(owner), fromUnix(last)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// pagedSummaries runs querySummaries with LIMIT and OFFSET appended to
// args and trims the look-ahead row.
func (s *Store) pagedSummaries(ctx context.Context, what, query string, p Page, args ...any) ([]RepositorySummary, bool, error) {
	limit, offset := p.bounds()
	out, err := s.querySummaries(ctx, what, query, append(args, limit, offset)...)
	if err != nil {
		return nil, false, err
	}
	out, more := trim(out, p)
	return out, more, nil
}
