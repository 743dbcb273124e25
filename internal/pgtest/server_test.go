package pgtest

import (
	"context"
	"os"
	"testing"

	"atcr.io/internal/postgres"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// Two tests get two databases of one server: a table made in one is not
// in the other.
func TestFreshDatabasePerTest(t *testing.T) {
	ctx := context.Background()
	a, err := postgres.Open(ctx, URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := postgres.Open(ctx, URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := a.ExecContext(ctx, `CREATE TABLE only_in_a (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.QueryRowContext(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = ?`, "only_in_a").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("a table of one test's database is visible in another's")
	}
	if err := a.QueryRowContext(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = ?`, "only_in_a").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("the table is not in its own database: %d", n)
	}
}
