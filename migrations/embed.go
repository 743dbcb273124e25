// Package migrations embeds the AppView database migrations, applied in order
// by pkg/appview/db at start-up.
//
// Each file is NNNN_name.yaml with two keys: description (one line for the
// log) and query (the SQL, run inside one transaction together with its
// schema_migrations row). Files are append-only once released: never edit or
// renumber a migration that may have run somewhere; add a new one.
package migrations

import "embed"

// FS holds every NNNN_name.yaml file of this directory.
//
//go:embed *.yaml
var FS embed.FS
