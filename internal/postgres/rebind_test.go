package postgres

import "testing"

func TestRebind(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT a FROM t WHERE b = ? AND c = ?`, `SELECT a FROM t WHERE b = $1 AND c = $2`},
		{`WHERE did = ?1 AND repository = ?2 OR x = ?1 LIMIT ?5`, `WHERE did = $1 AND repository = $2 OR x = $1 LIMIT $5`},
		{`?2 ?`, `$2 $3`},
		{`SELECT '?', "a?b", ? -- what?` + "\n" + `/* ? */ , ?`, `SELECT '?', "a?b", $1 -- what?` + "\n" + `/* ? */ , $2`},
		{`SELECT 'it''s ?', ?`, `SELECT 'it''s ?', $1`},
		{`SELECT 'unterminated ?`, `SELECT 'unterminated ?`},
	} {
		if got := Rebind(tc.in); got != tc.want {
			t.Errorf("Rebind(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
