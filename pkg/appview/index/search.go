package index

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"atcr.io/pkg/appview/db"
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
	var terms []string
	for _, w := range searchWords(q) {
		terms = append(terms, `"`+w+`"*`)
	}
	return strings.Join(terms, " ")
}

// searchWords is what a user typed cut into at most maxSearchTerms words
// (runs of letters and digits, lower case, at most maxSearchTermLen bytes),
// the way both engines' indexes cut text.
func searchWords(q string) []string {
	words := strings.FieldsFunc(strings.ToLower(q), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	if len(words) > maxSearchTerms {
		words = words[:maxSearchTerms]
	}
	for i, w := range words {
		words[i] = cutUTF8(w, maxSearchTermLen)
	}
	return words
}

// tsQuery is matchQuery for PostgreSQL: every word a prefix match
// ('word':*), all required. The words hold only letters and digits, so
// nothing of the input is tsquery syntax.
func tsQuery(q string) string {
	var terms []string
	for _, w := range searchWords(q) {
		terms = append(terms, "'"+w+"':*")
	}
	return strings.Join(terms, " & ")
}

// searchCandidates is the first step of a search on the engine: the
// newest maxRankedHits matching rows of table (repository_search or
// user_search) as (id, score), a lower score ranking first, and the query
// argument for the ? it holds. On SQLite the score is FTS5's bm25 rank
// with the column weights of migration 0010; on PostgreSQL the negated
// ts_rank of the weighted tsvector of the same migration, with weights
// A 1.0, B 0.5, C 0.1 — the same order of the columns' importance.
func (s *Store) searchCandidates(table, q string) (cte string, arg string) {
	if s.engine == db.EnginePostgres {
		return `candidates AS (
			SELECT rowid AS id, -ts_rank('{0, 0.1, 0.5, 1.0}'::real[], document, query) AS score
			FROM ` + table + `, to_tsquery('simple', ?) AS query WHERE document @@ query
			ORDER BY rowid DESC LIMIT ` + maxRankedHitsSQL + `)`, tsQuery(q)
	}
	return `candidates AS (
			SELECT rowid AS id, rank AS score
			FROM ` + table + ` WHERE ` + table + ` MATCH ?
			ORDER BY rowid DESC LIMIT ` + maxRankedHitsSQL + `)`, matchQuery(q)
}

// SearchRepositories finds repositories whose name, owner handle or
// description match every word of q (prefix match), best first: a match in
// the name weighs most, then the handle, then the description (the rank
// configured in migration 0010). At most maxRankedHits are ranked.
func (s *Store) SearchRepositories(ctx context.Context, q string, p Page) ([]RepositorySummary, bool, error) {
	if len(searchWords(q)) == 0 {
		return nil, false, nil
	}
	candidates, match := s.searchCandidates("repository_search", q)
	return s.pagedSummaries(ctx, "search repositories", `WITH `+candidates+`,
		hits AS (SELECT id, score FROM candidates ORDER BY score, id LIMIT ? OFFSET ?)
		SELECT `+summaryColumns+` FROM hits JOIN repositories r ON r.id = hits.id LEFT JOIN users u ON u.did = r.did
		ORDER BY hits.score, r.id`, p, match)
}

// SearchUsers finds accounts whose handle or display name match every word
// of q (prefix match), best first.
func (s *Store) SearchUsers(ctx context.Context, q string, p Page) ([]User, bool, error) {
	if len(searchWords(q)) == 0 {
		return nil, false, nil
	}
	candidates, match := s.searchCandidates("user_search", q)
	limit, offset := p.bounds()
	rows, err := s.sql.QueryContext(ctx, `WITH `+candidates+`,
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
