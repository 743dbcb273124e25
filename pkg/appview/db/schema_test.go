package db

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"atcr.io/migrations"
)

// The schema test: the whole migration set applied on SQLite and on
// PostgreSQL must give the same tables, columns (normalized types, NOT
// NULL, defaults), primary keys, unique constraints and indexes. What the
// engines spell differently on purpose is mapped here, explicitly:

// searchTables are SQLite FTS5 virtual tables. On PostgreSQL each is a
// table of the FTS columns plus rowid (FTS5's implicit one) and a generated
// tsvector, document. FTS5's shadow tables (<name>_data, _idx, _content,
// _docsize, _config) have no counterpart.
var searchTables = []string{"repository_search", "user_search"}

var ftsShadowSuffixes = []string{"_data", "_idx", "_content", "_docsize", "_config"}

// implicitRowidTables are SQLite rowid tables whose rowid a query uses
// (ORDER BY rowid): PostgreSQL has none, so they get an identity column
// named rowid.
var implicitRowidTables = []string{"oauth_sessions", "devices"}

type schemaColumn struct {
	Type     string // integer or text
	NotNull  bool
	Default  string // normalized: '' for none
	Identity bool   // rowid: SQLite INTEGER PRIMARY KEY, PostgreSQL identity
}

type schemaIndex struct {
	Columns string // comma separated, in order
	Unique  bool
	Where   string // normalized partial-index predicate
}

type schemaTable struct {
	Columns    map[string]schemaColumn
	PrimaryKey string
	Uniques    []string // column lists of UNIQUE constraints, sorted
	Indexes    map[string]schemaIndex
}

// normalizeSQL makes a default or predicate comparable across engines:
// no casts, no parentheses, lower case, single spaces.
func normalizeSQL(s string) string {
	s = regexp.MustCompile(`::[a-z ]+`).ReplaceAllString(s, "")
	s = strings.NewReplacer("(", "", ")", "").Replace(strings.ToLower(s))
	return strings.Join(strings.Fields(s), " ")
}

func normalizeType(t string) string {
	switch strings.ToLower(t) {
	case "integer", "bigint":
		return "integer"
	case "text":
		return "text"
	}
	return "?" + t
}

func sqliteSchema(t *testing.T, d *DB) map[string]*schemaTable {
	t.Helper()
	ctx := context.Background()
	out := map[string]*schemaTable{}
	names := queryStrings(t, d, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	for _, name := range names {
		if isFTSShadow(name) {
			continue
		}
		tab := &schemaTable{Columns: map[string]schemaColumn{}, Indexes: map[string]schemaIndex{}}
		out[name] = tab
		rows, err := d.sql.QueryContext(ctx, `SELECT name, type, "notnull", coalesce(dflt_value, ''), pk FROM pragma_table_info(?) ORDER BY pk`, name)
		if err != nil {
			t.Fatal(err)
		}
		var pk []string
		for rows.Next() {
			var col, typ, def string
			var notNull bool
			var pkPos int
			if err := rows.Scan(&col, &typ, &notNull, &def, &pkPos); err != nil {
				t.Fatal(err)
			}
			c := schemaColumn{Type: normalizeType(typ), NotNull: notNull || pkPos > 0, Default: normalizeSQL(def)}
			if slices.Contains(searchTables, name) {
				c = schemaColumn{Type: "text", NotNull: true} // FTS5 columns are untyped; the store writes text
			}
			if pkPos > 0 {
				pk = append(pk, col)
			}
			tab.Columns[col] = c
		}
		rows.Close()
		tab.PrimaryKey = strings.Join(pk, ",")
		if len(pk) == 1 && tab.Columns[pk[0]].Type == "integer" && !isWithoutRowid(t, d, name) {
			c := tab.Columns[pk[0]]
			c.Identity = name != "schema_migrations" && name != "jetstream_cursor" // rowid aliases the store lets SQLite number
			tab.Columns[pk[0]] = c
		}
		if slices.Contains(searchTables, name) || slices.Contains(implicitRowidTables, name) {
			tab.Columns["rowid"] = schemaColumn{Type: "integer", NotNull: true, Identity: slices.Contains(implicitRowidTables, name)}
		}
		if slices.Contains(searchTables, name) {
			tab.PrimaryKey = "rowid"
			continue // an FTS5 table has no SQL indexes of its own
		}
		idx, err := d.sql.QueryContext(ctx, `SELECT l.name, l."unique", l.origin, coalesce(m.sql, '')
			FROM pragma_index_list(?) l LEFT JOIN sqlite_master m ON m.type = 'index' AND m.name = l.name`, name)
		if err != nil {
			t.Fatal(err)
		}
		type ix struct {
			name, origin, sql string
			unique            bool
		}
		var list []ix
		for idx.Next() {
			var i ix
			if err := idx.Scan(&i.name, &i.unique, &i.origin, &i.sql); err != nil {
				t.Fatal(err)
			}
			list = append(list, i)
		}
		idx.Close()
		for _, i := range list {
			cols := strings.Join(queryStrings(t, d, `SELECT name FROM pragma_index_info(?) ORDER BY seqno`, i.name), ",")
			switch i.origin {
			case "pk":
			case "u":
				tab.Uniques = append(tab.Uniques, cols)
			default:
				where := ""
				if _, w, ok := strings.Cut(i.sql, " WHERE "); ok {
					where = normalizeSQL(w)
				}
				tab.Indexes[i.name] = schemaIndex{Columns: cols, Unique: i.unique, Where: where}
			}
		}
		slices.Sort(tab.Uniques)
	}
	return out
}

func postgresSchema(t *testing.T, d *DB) map[string]*schemaTable {
	t.Helper()
	ctx := context.Background()
	out := map[string]*schemaTable{}
	for _, name := range queryStrings(t, d, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`) {
		tab := &schemaTable{Columns: map[string]schemaColumn{}, Indexes: map[string]schemaIndex{}}
		out[name] = tab
		rows, err := d.sql.QueryContext(ctx, `SELECT column_name, data_type, is_nullable = 'NO', coalesce(column_default, ''),
				is_identity = 'YES', is_generated = 'ALWAYS'
			FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?`, name)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var col, typ, def string
			var notNull, identity, generated bool
			if err := rows.Scan(&col, &typ, &notNull, &def, &identity, &generated); err != nil {
				t.Fatal(err)
			}
			if generated && slices.Contains(searchTables, name) && col == "document" {
				continue // the tsvector FTS5 keeps in its shadow tables
			}
			tab.Columns[col] = schemaColumn{Type: normalizeType(typ), NotNull: notNull, Default: normalizeSQL(def), Identity: identity}
		}
		rows.Close()
		cons, err := d.sql.QueryContext(ctx, `SELECT c.contype::text, (SELECT string_agg(a.attname, ',' ORDER BY k.ord)
				FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
				JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum)
			FROM pg_constraint c WHERE c.conrelid = CAST(? AS regclass) AND c.contype IN ('p', 'u')`, name)
		if err != nil {
			t.Fatal(err)
		}
		for cons.Next() {
			var kind, cols string
			if err := cons.Scan(&kind, &cols); err != nil {
				t.Fatal(err)
			}
			if kind == "p" {
				tab.PrimaryKey = cols
			} else {
				tab.Uniques = append(tab.Uniques, cols)
			}
		}
		cons.Close()
		slices.Sort(tab.Uniques)
		if slices.Contains(searchTables, name) {
			continue // its one index is the GIN index of document
		}
		defs := queryStrings(t, d, `SELECT indexdef FROM pg_indexes i WHERE schemaname = current_schema() AND tablename = ?
			AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = CAST(i.indexname AS regclass))`, name)
		for _, def := range defs {
			m := regexp.MustCompile(`^CREATE (UNIQUE )?INDEX (\S+) ON \S+ USING btree \(([^)]*)\)(?: WHERE (.*))?$`).FindStringSubmatch(def)
			if m == nil {
				t.Fatalf("unexpected index definition %q", def)
			}
			tab.Indexes[m[2]] = schemaIndex{Columns: strings.ReplaceAll(m[3], " ", ""), Unique: m[1] != "", Where: normalizeSQL(m[4])}
		}
	}
	return out
}

func isFTSShadow(name string) bool {
	for _, s := range searchTables {
		for _, suffix := range ftsShadowSuffixes {
			if name == s+suffix {
				return true
			}
		}
	}
	return false
}

func isWithoutRowid(t *testing.T, d *DB, table string) bool {
	var n int
	if err := d.sql.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ? AND sql LIKE '%WITHOUT ROWID%'`, table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func queryStrings(t *testing.T, d *DB, query string, args ...any) []string {
	t.Helper()
	rows, err := d.sql.Query(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// schemaDiff lists every difference between the two schemas, by table.
func schemaDiff(lite, pg map[string]*schemaTable) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(lite)) {
		if _, ok := pg[name]; !ok {
			out = append(out, "table "+name+": only on SQLite")
		}
	}
	for _, name := range slices.Sorted(maps.Keys(pg)) {
		l, ok := lite[name]
		if !ok {
			out = append(out, "table "+name+": only on PostgreSQL")
			continue
		}
		p := pg[name]
		for _, col := range slices.Sorted(maps.Keys(l.Columns)) {
			if pc, ok := p.Columns[col]; !ok {
				out = append(out, fmt.Sprintf("%s.%s: only on SQLite", name, col))
			} else if pc != l.Columns[col] {
				out = append(out, fmt.Sprintf("%s.%s: SQLite %+v, PostgreSQL %+v", name, col, l.Columns[col], pc))
			}
		}
		for _, col := range slices.Sorted(maps.Keys(p.Columns)) {
			if _, ok := l.Columns[col]; !ok {
				out = append(out, fmt.Sprintf("%s.%s: only on PostgreSQL", name, col))
			}
		}
		if l.PrimaryKey != p.PrimaryKey {
			out = append(out, fmt.Sprintf("%s primary key: SQLite (%s), PostgreSQL (%s)", name, l.PrimaryKey, p.PrimaryKey))
		}
		if !slices.Equal(l.Uniques, p.Uniques) {
			out = append(out, fmt.Sprintf("%s unique constraints: SQLite %v, PostgreSQL %v", name, l.Uniques, p.Uniques))
		}
		if !maps.Equal(l.Indexes, p.Indexes) {
			out = append(out, fmt.Sprintf("%s indexes:\n  SQLite     %+v\n  PostgreSQL %+v", name, l.Indexes, p.Indexes))
		}
	}
	return out
}

func TestSchemasOfBothEnginesAgree(t *testing.T) {
	lite := sqliteSchema(t, openEngine(t, EngineSQLite))
	pg := postgresSchema(t, openEngine(t, EnginePostgres))
	if len(lite) < 20 {
		t.Fatalf("only %d SQLite tables: the introspection reads nothing", len(lite))
	}
	for _, problem := range schemaDiff(lite, pg) {
		t.Error(problem)
	}
}

// The comparison itself notices a difference: one engine's migration adds
// a column, an index or a NOT NULL the other's lacks. (Three cases: each
// costs a PostgreSQL database.)
func TestSchemaDiffFindsDifferences(t *testing.T) {
	for name, pgText := range map[string]string{
		"extra column": `CREATE TABLE x (id TEXT PRIMARY KEY, a BIGINT NOT NULL, b TEXT NOT NULL DEFAULT '')`,
		"nullable":     `CREATE TABLE x (id TEXT PRIMARY KEY, a BIGINT)`,
		"index":        `CREATE TABLE x (id TEXT PRIMARY KEY, a BIGINT NOT NULL); CREATE INDEX x_a ON x (a)`,
	} {
		t.Run(name, func(t *testing.T) {
			fsys := fstest.MapFS{"0001_x.yaml": {Data: []byte("description: x\nquery: |\n  CREATE TABLE x (id TEXT PRIMARY KEY, a INTEGER NOT NULL) STRICT\npostgres: |\n  " + pgText + "\n")}}
			lite, err := open(context.Background(), t.TempDir()+"/x.sqlite", fsys)
			if err != nil {
				t.Fatal(err)
			}
			defer lite.Close()
			pg, err := openPostgres(context.Background(), pgURL(t), fsys)
			if err != nil {
				t.Fatal(err)
			}
			defer pg.Close()
			if diff := schemaDiff(sqliteSchema(t, lite), postgresSchema(t, pg)); len(diff) == 0 {
				t.Error("no difference found")
			}
		})
	}
}

// Every shipped migration has both texts (the loader refuses one without
// its postgres key: see TestBadMigrationFiles).
func TestEveryMigrationHasBothEngines(t *testing.T) {
	all, err := loadMigrations(migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		if strings.TrimSpace(m.Query) == "" || strings.TrimSpace(m.Postgres) == "" {
			t.Errorf("%s: a text for one engine only", m.File)
		}
	}
}
