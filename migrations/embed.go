// Package migrations embeds the AppView database migrations, applied in order
// by pkg/appview/db at start-up.
//
// Each file is NNNN_name.yaml with three keys: description (one line for
// the log), query (the SQLite text) and postgres (the PostgreSQL text), the
// engine's text run inside one transaction together with its
// schema_migrations row. Both texts are required; the schema test in
// pkg/appview/db compares the schemas they make (docs/database.md). Files are append-only once released: never edit or
// renumber a migration that may have run somewhere; add a new one.
package migrations

import "embed"

// FS holds every NNNN_name.yaml file of this directory.
//
//go:embed *.yaml
var FS embed.FS
