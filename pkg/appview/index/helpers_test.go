package index

import (
	"atcr.io/pkg/appview/db/dbtest"
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/internal/testclock"
	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/atproto/atcr"
)

const (
	alice = "did:plc:alice"
	bob   = "did:plc:bob"
	carol = "did:plc:carol"
	hold1 = "did:web:hold1.example.com"
	hold2 = "did:web:hold2.example.com"
	hold3 = "did:web:hold3.example.com"
)

var epoch = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

type env struct {
	ctx    context.Context
	db     *db.DB
	engine db.Engine
	store  *Store
	clock  *testclock.Clock
}

func newEnv(t testing.TB, engine db.Engine) *env {
	t.Helper()
	ctx := context.Background()
	d := dbtest.Open(t, engine)
	clock := testclock.New(epoch.Add(24 * time.Hour))
	// Long interval: tests flush explicitly or through the event threshold.
	s := New(d, Options{Now: clock.Now, FlushInterval: time.Hour, FlushEvents: 1 << 30})
	t.Cleanup(func() { s.Close(ctx) }) // before dbtest closes d
	return &env{ctx: ctx, db: d, engine: engine, store: s, clock: clock}
}

func digest(n int) string { return fmt.Sprintf("sha256:%064x", n) }

func tid(n int) string { return syntax.NewTID(epoch.UnixMicro()+int64(n), 0).String() }

func stamp(d time.Duration) string { return epoch.Add(d).Format(time.RFC3339) }

// rec converts a generated record type into a Record.
func rec(t testing.TB, did, rkey string, v interface{ NSID() string }) Record {
	t.Helper()
	m, err := atcr.ToMap(v)
	if err != nil {
		t.Fatal(err)
	}
	return Record{DID: did, Collection: v.NSID(), RKey: rkey, CID: "bafyreib" + rkey, Value: m}
}

func imageManifest(repo string, n int, at time.Duration) *atcr.Manifest {
	return &atcr.Manifest{
		Repository: repo, Digest: digest(n), MediaType: "application/vnd.oci.image.manifest.v1+json",
		SchemaVersion: 2, CreatedAt: stamp(at), HoldDID: hold1,
		Config: &atcr.Manifest_BlobReference{Digest: digest(n + 1000000), MediaType: "application/vnd.oci.image.config.v1+json", Size: 100},
		Layers: []atcr.Manifest_BlobReference{
			{Digest: digest(n + 2000000), MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Size: 1000},
			{Digest: digest(n + 3000000), MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Size: 2000},
		},
	}
}

func indexManifest(repo string, n int, at time.Duration, children ...int) *atcr.Manifest {
	m := &atcr.Manifest{
		Repository: repo, Digest: digest(n), MediaType: "application/vnd.oci.image.index.v1+json",
		SchemaVersion: 2, CreatedAt: stamp(at), HoldDID: hold1,
	}
	archs := []string{"amd64", "arm64", "s390x"}
	for i, c := range children {
		m.Manifests = append(m.Manifests, atcr.Manifest_ManifestReference{
			Digest: digest(c), MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 500,
			Platform: &atcr.Manifest_Platform{OS: "linux", Architecture: archs[i%len(archs)]},
		})
	}
	return m
}

func tagRecord(t testing.TB, did, repo, tag, manifestRKey string, at time.Duration) Record {
	return rec(t, did, pdsread.RepoPageKey(repo)+":"+tag, &atcr.Tag{
		Repository: repo, Tag: tag, Manifest: "at://" + did + "/" + atcr.ManifestNSID + "/" + manifestRKey,
		CreatedAt: stamp(at), UpdatedAt: stamp(at),
	})
}

func starRecord(t testing.TB, starrer, rkey, owner, repo string) Record {
	return rec(t, starrer, rkey, &atcr.SailorStar{
		Subject:   "at://" + owner + "/" + atcr.RepoPageNSID + "/" + pdsread.RepoPageKey(repo),
		CreatedAt: stamp(time.Hour),
	})
}

func (e *env) put(t testing.TB, records ...Record) {
	t.Helper()
	for _, r := range records {
		if err := e.store.Put(e.ctx, r); err != nil {
			t.Fatalf("put %s/%s/%s: %v", r.DID, r.Collection, r.RKey, err)
		}
	}
}

func (e *env) del(t testing.TB, did, collection, rkey string) {
	t.Helper()
	if err := e.store.Delete(e.ctx, did, collection, rkey); err != nil {
		t.Fatalf("delete %s/%s/%s: %v", did, collection, rkey, err)
	}
}

// indexTables are every table the store writes, dumped by dump.
var indexTables = []string{
	"users", "repositories", "manifests", "layers", "manifest_references", "repository_annotations",
	"tags", "repo_pages", "stars", "repository_stats", "hold_captain_records", "hold_crew",
	"jetstream_cursor", "repository_search", "user_search",
}

// dump renders every row of the index tables (rowids included for the FTS
// tables), sorted, for comparing whole database states.
func (e *env) dump(t testing.TB) string {
	t.Helper()
	var out []string
	for _, table := range indexTables {
		cols := "*"
		if strings.HasSuffix(table, "_search") {
			cols = "rowid, *"
		}
		rows, err := e.db.SQL().Query(`SELECT ` + cols + ` FROM ` + table)
		if err != nil {
			t.Fatal(err)
		}
		names, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(names))
			ptrs := make([]any, len(names))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%s %v", table, vals))
		}
		rows.Close()
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func (e *env) count(t testing.TB, table string) int {
	t.Helper()
	var n int
	if err := e.db.SQL().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// refuseInserts makes the database refuse inserts into table (those whose
// row satisfies when, if not empty: a condition on NEW), with a trigger
// called name; allowInserts drops it.
func (e *env) refuseInserts(t testing.TB, name, table, when string) {
	t.Helper()
	q := `CREATE TRIGGER ` + name + ` BEFORE INSERT ON ` + table
	if e.engine == db.EnginePostgres {
		q = `CREATE OR REPLACE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$;
			` + q + ` FOR EACH ROW`
		if when != "" {
			q += ` WHEN (` + when + `)`
		}
		q += ` EXECUTE FUNCTION refuse()`
	} else {
		if when != "" {
			q += ` WHEN ` + when
		}
		q += ` BEGIN SELECT RAISE(ABORT, 'refused'); END`
	}
	if _, err := e.db.SQL().Exec(q); err != nil {
		t.Fatal(err)
	}
}

func (e *env) allowInserts(t testing.TB, name, table string) {
	t.Helper()
	q := `DROP TRIGGER ` + name
	if e.engine == db.EnginePostgres {
		q += ` ON ` + table
	}
	if _, err := e.db.SQL().Exec(q); err != nil {
		t.Fatal(err)
	}
}
