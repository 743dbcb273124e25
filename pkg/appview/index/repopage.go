package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/db"
)

// RepositoryPage is what the repository page shows, read in one snapshot.
type RepositoryPage struct {
	// Owner is the indexed account; only DID is set if the index has no
	// users row (it always has one for an owner of indexed records).
	Owner      User
	Repository string
	// README is the io.atcr.repo.page description (Markdown, unrendered),
	// "" when the owner has no page.
	README string
	// ShortDescription is the io.atcr.repo.page shortDescription (plain
	// text), "" when none.
	ShortDescription string
	// AvatarCID is the repo page's avatar blob, "" when none.
	AvatarCID string
	// Annotations are the OCI annotations of the newest manifest that has
	// any (title, description, source, documentation, licenses, …).
	Annotations map[string]string
	// Tags, most recently moved first: at most MaxPageTags of TagCount.
	Tags               []TagSummary
	TagCount           int64
	Stars              int64
	Pulls, Pushes      int64
	LastPull, LastPush time.Time
}

// TagSummary is one tag with the manifest it points at.
type TagSummary struct {
	Tag    string
	Digest string
	// ManifestRKey is "" while the tagged manifest record is not indexed;
	// MediaType, ArtifactType, HoldDID and Size are then empty.
	ManifestRKey string
	MediaType    string
	ArtifactType string
	HoldDID      string
	// Size is config + layers (image) or the children's sizes (index).
	Size int64
	// Platforms are the children of an index; empty for an image.
	Platforms []Platform
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Platform is one child of an image index.
type Platform struct {
	OS, Architecture, Variant, OSVersion string
	Digest                               string
	MediaType                            string
	Size                                 int64
}

// RepositoryPage reads the page of owner's repository; db.ErrNotFound
// (wrapped) when no manifest or tag names it.
func (s *Store) RepositoryPage(ctx context.Context, owner, repository string) (RepositoryPage, error) {
	// One read transaction: the page is one snapshot even while Jetstream
	// writes.
	tx, err := s.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return RepositoryPage{}, fmt.Errorf("read repository %s/%s: %w", truncate(owner), truncate(repository), err)
	}
	defer tx.Rollback()
	page := RepositoryPage{Repository: repository, Owner: User{DID: syntax.DID(owner)}, Annotations: map[string]string{}}
	var lastPull, lastPush int64
	err = tx.QueryRowContext(ctx, `SELECT
			coalesce((SELECT description FROM repo_pages WHERE did = r.did AND repository = r.repository LIMIT 1), ''),
			coalesce((SELECT short_description FROM repo_pages WHERE did = r.did AND repository = r.repository LIMIT 1), ''),
			coalesce((SELECT avatar_cid FROM repo_pages WHERE did = r.did AND repository = r.repository LIMIT 1), ''),
			(SELECT count(DISTINCT did) FROM stars WHERE subject_did = r.did AND subject_repository = r.repository),
			coalesce(st.pull_count, 0), coalesce(st.push_count, 0), coalesce(st.last_pull, 0), coalesce(st.last_push, 0)
		FROM repositories r LEFT JOIN repository_stats st ON st.did = r.did AND st.repository = r.repository
		WHERE r.did = ? AND r.repository = ?`, owner, repository).
		Scan(&page.README, &page.ShortDescription, &page.AvatarCID, &page.Stars, &page.Pulls, &page.Pushes, &lastPull, &lastPush)
	if errors.Is(err, sql.ErrNoRows) {
		return RepositoryPage{}, fmt.Errorf("repository %s/%s: %w", truncate(owner), truncate(repository), db.ErrNotFound)
	}
	if err != nil {
		return RepositoryPage{}, fmt.Errorf("read repository %s/%s: %w", truncate(owner), truncate(repository), err)
	}
	page.LastPull, page.LastPush = fromUnix(lastPull), fromUnix(lastPush)
	if u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE did = ?`, owner)); err == nil {
		page.Owner = u
	} else if !errors.Is(err, sql.ErrNoRows) {
		return RepositoryPage{}, fmt.Errorf("read owner %s: %w", truncate(owner), err)
	}
	if err := readAnnotations(ctx, tx, owner, repository, page.Annotations); err != nil {
		return RepositoryPage{}, err
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM tags WHERE did = ? AND repository = ?`, owner, repository).Scan(&page.TagCount); err != nil {
		return RepositoryPage{}, fmt.Errorf("count tags of %s: %w", truncate(repository), err)
	}
	if page.Tags, err = s.readTagSummaries(ctx, tx, owner, repository); err != nil {
		return RepositoryPage{}, err
	}
	return page, nil
}

// MaxPageTags bounds the tags a repository page shows: an account decides
// how many tag records it publishes, and a page must not grow with them
// (the registry's tags/list pages through all of them).
const MaxPageTags = 100

// MaxTagPlatforms bounds the entries of an index a repository page lists
// for a tag (real multi-arch images have a handful).
const MaxTagPlatforms = 64

func readAnnotations(ctx context.Context, tx *sql.Tx, owner, repository string, into map[string]string) error {
	rows, err := tx.QueryContext(ctx, `SELECT key, value FROM repository_annotations WHERE did = ? AND repository = ?`, owner, repository)
	if err != nil {
		return fmt.Errorf("read annotations of %s: %w", truncate(repository), err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return fmt.Errorf("read annotations of %s: %w", truncate(repository), err)
		}
		into[k] = v
	}
	return rows.Err()
}

// readTagSummaries reads the tags with their manifests, then the platforms
// of those that are indexes in one more query (by manifest_references' key).
func (s *Store) readTagSummaries(ctx context.Context, tx *sql.Tx, owner, repository string) ([]TagSummary, error) {
	rows, err := tx.QueryContext(ctx, `SELECT t.tag, t.digest, coalesce(m.rkey, ''), coalesce(m.media_type, ''),
			coalesce(m.artifact_type, ''), coalesce(m.hold_did, ''), coalesce(m.size, 0), t.created_at, t.updated_at
		FROM tags t
		LEFT JOIN manifests m ON m.did = t.did AND m.rkey = (SELECT rkey FROM manifests
			WHERE did = t.did AND repository = t.repository AND digest = t.digest ORDER BY created_at DESC LIMIT 1)
		WHERE t.did = ? AND t.repository = ?
		ORDER BY t.updated_at DESC, t.tag
		LIMIT ?`, owner, repository, MaxPageTags)
	if err != nil {
		return nil, fmt.Errorf("read tags of %s: %w", truncate(repository), err)
	}
	var tags []TagSummary
	byManifest := map[string][]int{}
	for rows.Next() {
		var t TagSummary
		var created, updated int64
		if err := rows.Scan(&t.Tag, &t.Digest, &t.ManifestRKey, &t.MediaType, &t.ArtifactType, &t.HoldDID, &t.Size, &created, &updated); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read tags of %s: %w", truncate(repository), err)
		}
		t.CreatedAt, t.UpdatedAt = fromUnix(created), fromUnix(updated)
		if t.ManifestRKey != "" {
			byManifest[t.ManifestRKey] = append(byManifest[t.ManifestRKey], len(tags))
		}
		tags = append(tags, t)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("read tags of %s: %w", truncate(repository), err)
	}
	if len(byManifest) == 0 {
		return tags, nil
	}
	// Only the shown tags' manifests, and at most MaxTagPlatforms of each:
	// a repository's other indexes, or one index of thousands of entries
	// (records are the owner's to make), cost nothing here.
	args := []any{owner}
	for rkey := range byManifest {
		args = append(args, rkey)
	}
	args = append(args, MaxTagPlatforms)
	rows, err = tx.QueryContext(ctx, `SELECT manifest_rkey, os, architecture, variant, os_version, digest, media_type, size
		FROM manifest_references
		WHERE did = ? AND manifest_rkey IN (?`+strings.Repeat(", ?", len(byManifest)-1)+`) AND position < ?
		ORDER BY manifest_rkey, position`, args...)
	if err != nil {
		return nil, fmt.Errorf("read platforms of %s: %w", truncate(repository), err)
	}
	defer rows.Close()
	for rows.Next() {
		var rkey string
		var p Platform
		if err := rows.Scan(&rkey, &p.OS, &p.Architecture, &p.Variant, &p.OSVersion, &p.Digest, &p.MediaType, &p.Size); err != nil {
			return nil, fmt.Errorf("read platforms of %s: %w", truncate(repository), err)
		}
		for _, i := range byManifest[rkey] {
			tags[i].Platforms = append(tags[i].Platforms, p)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read platforms of %s: %w", truncate(repository), err)
	}
	return tags, nil
}
