package index

import (
	"context"
	"fmt"
	"strings"
	"unicode"
)

// Bounds of a search query: the words used and their length. Longer input
// is cut, not refused, so a pasted paragraph still searches.
const (
	maxSearchTerms   = 8
	maxSearchTermLen = 64
	// maxRankedHits bounds the work of one search: of the rows matching,
	// the newest maxRankedHits (highest rowid: repositories and users are
	// numbered as the index first sees them) are ranked, so a query
	// matching everything ("a") costs as much as one matching a thousand.
	// Results past that many are not reachable by paging.
	maxRankedHits    = 1000
	maxRankedHitsSQL = "1000"
)

// matchQuery turns what a user typed into an FTS5 query: every word (a run
// of letters and digits, as the unicode61 tokenizer splits) must match as
// a prefix. Nothing of the input reaches FTS5 syntax: each word is quoted
// and holds only letters and digits. "" when there is no word.
func matchQuery(q string) string {
	words := strings.FieldsFunc(strings.ToLower(q), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	var terms []string
	for _, w := range words {
		if len(terms) == maxSearchTerms {
			break
		}
		terms = append(terms, `"`+cutUTF8(w, maxSearchTermLen)+`"*`)
	}
	return strings.Join(terms, " ")
}

// SearchRepositories finds repositories whose name, owner handle or
// description match every word of q (prefix match), best first: a match in
// the name weighs most, then the handle, then the description (the rank
// configured in migration 0010). At most maxRankedHits are ranked.
func (s *Store) SearchRepositories(ctx context.Context, q string, p Page) ([]RepositorySummary, bool, error) {
	match := matchQuery(q)
	if match == "" {
		return nil, false, nil
	}
	return s.pagedSummaries(ctx, "search repositories", `WITH candidates AS (
			SELECT rowid AS id, rank AS score
			FROM repository_search WHERE repository_search MATCH ?
			ORDER BY rowid DESC LIMIT `+maxRankedHitsSQL+`),
		hits AS (SELECT id, score FROM candidates ORDER BY score, id LIMIT ? OFFSET ?)
		SELECT `+summaryColumns+` FROM hits JOIN repositories r ON r.id = hits.id LEFT JOIN users u ON u.did = r.did
		ORDER BY hits.score, r.id`, p, match)
}

// SearchUsers finds accounts whose handle or display name match every word
// of q (prefix match), best first.
func (s *Store) SearchUsers(ctx context.Context, q string, p Page) ([]User, bool, error) {
	match := matchQuery(q)
	if match == "" {
		return nil, false, nil
	}
	limit, offset := p.bounds()
	rows, err := s.sql.QueryContext(ctx, `WITH candidates AS (
			SELECT rowid AS id, rank AS score
			FROM user_search WHERE user_search MATCH ?
			ORDER BY rowid DESC LIMIT `+maxRankedHitsSQL+`),
		hits AS (SELECT id, score FROM candidates ORDER BY score, id LIMIT ? OFFSET ?)
		SELECT `+userColumns+` FROM hits JOIN users ON users.id = hits.id ORDER BY hits.score, users.id`, match, limit, offset)
	if err != nil {
		return nil, false, fmt.Errorf("search users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, false, fmt.Errorf("search users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("search users: %w", err)
	}
	out, more := trim(out, p)
	return out, more, nil
}
