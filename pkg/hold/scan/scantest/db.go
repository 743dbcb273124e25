package scantest

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/OneOfOne/xxhash"
	grypedb "github.com/anchore/grype/grype/db"
	"github.com/anchore/grype/grype/db/provider"
	v6 "github.com/anchore/grype/grype/db/v6"

	"atcr.io/internal/sqlite"
	"atcr.io/pkg/hold/scan/vulndb"
)

// The vulnerability the fixtures plant, and the package it affects.
const (
	VulnID        = "CVE-2022-38178"
	VulnSeverity  = "High"
	VulnPackage   = "bind"
	VulnInstalled = "9.18.0-r0"
	VulnFixedIn   = "9.18.7-r0"
)

//go:embed testdata/vunnel
var vunnel embed.FS

// BuildDB builds a schema-6 vulnerability database from the fixtures into
// dir (dir/vulnerability.db), stamped as built at built. It needs no
// network: the recipe of grype's own grype/db/v6/testdb.
func BuildDB(dir string, built time.Time) error {
	work, err := os.MkdirTemp("", "scantest-vunnel-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	providers, err := fs.ReadDir(vunnel, "testdata/vunnel")
	if err != nil {
		return err
	}
	var states provider.States
	for _, p := range providers {
		st, err := writeProvider(work, p.Name(), built)
		if err != nil {
			return fmt.Errorf("provider %s: %w", p.Name(), err)
		}
		states = append(states, *st)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	err = grypedb.Build(grypedb.BuildConfig{
		SchemaVersion:       v6.ModelVersion,
		Directory:           dir,
		States:              states,
		Timestamp:           built,
		IncludeCPEParts:     []string{"o", "a", "h"},
		InferNVDFixVersions: true,
		Hydrate:             true,
		BatchSize:           100,
		SQLiteCacheSizeKiB:  2048,
	})
	if err != nil {
		return err
	}
	return stampBuilt(filepath.Join(dir, v6.VulnerabilityDBFileName), built)
}

// stampBuilt sets the database's build time: grype's writer always stamps
// the time of the build, and tests need databases of chosen ages. It goes
// through the project's one SQLite driver (the one grype reads with), and
// leaves the file in rollback-journal mode, as grype ships it.
func stampBuilt(path string, built time.Time) error {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ts := built.UTC().Round(time.Second)
	if _, err := db.ExecContext(ctx, "UPDATE db_metadata SET build_timestamp = ?", ts); err != nil {
		return fmt.Errorf("stamp build time: %w", err)
	}
	if _, err := db.ExecContext(ctx, "PRAGMA journal_mode=DELETE"); err != nil {
		return fmt.Errorf("stamp build time: %w", err)
	}
	return nil
}

// writeProvider copies one provider's results into a vunnel workspace
// under work and writes its checksums listing and metadata.json.
func writeProvider(work, name string, captured time.Time) (*provider.State, error) {
	root := path.Join("testdata/vunnel", name)
	dir := filepath.Join(work, name)
	var listing []string
	err := fs.WalkDir(vunnel, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := vunnel.ReadFile(p)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, root+"/")
		out := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(out, data, 0o644); err != nil {
			return err
		}
		listing = append(listing, xxh64(data)+"  "+rel)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(listing)
	sums := strings.Join(listing, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "checksums"), []byte(sums), 0o644); err != nil {
		return nil, err
	}
	meta := fmt.Sprintf(`{
 "provider": %q, "urls": ["https://example.invalid/%s"], "store": "flat-file", "timestamp": %q,
 "version": 1, "distribution_version": 1, "processor": "vunnel@0.54.0",
 "listing": {"digest": %q, "path": "checksums", "algorithm": "xxh64"},
 "schema": {"version": "1.0.3", "url": "https://raw.githubusercontent.com/anchore/vunnel/main/schema/provider-workspace-state/schema-1.0.3.json"},
 "stale": false}`, name, name, captured.UTC().Format(time.RFC3339), xxh64([]byte(sums)))
	if err := os.WriteFile(filepath.Join(dir, "metadata.json"), []byte(meta), 0o644); err != nil {
		return nil, err
	}
	return provider.ReadState(filepath.Join(dir, "metadata.json"))
}

func xxh64(b []byte) string {
	h := xxhash.New64()
	h.Write(b)
	return fmt.Sprintf("%x", h.Sum(nil))
}

// WriteArchive packs the database in dbDir (its vulnerability.db) as a
// .tar.gz archive at out, the form grype publishes and `atcr-hold scanner
// db import` takes.
func WriteArchive(dbDir, out string) error {
	in, err := os.Open(filepath.Join(dbDir, v6.VulnerabilityDBFileName))
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	err = tw.WriteHeader(&tar.Header{Name: v6.VulnerabilityDBFileName, Mode: 0o644, Size: fi.Size(),
		ModTime: fi.ModTime(), Typeflag: tar.TypeReg})
	if err == nil {
		_, err = io.Copy(tw, in)
	}
	for _, c := range []io.Closer{tw, zw, f} {
		if cerr := c.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// Archive builds the fixture database (built at built) and returns the
// path of its importable archive, in a temporary directory of t.
func Archive(t testing.TB, built time.Time) string {
	t.Helper()
	dir := t.TempDir()
	if err := BuildDB(filepath.Join(dir, "db"), built); err != nil {
		t.Fatalf("build vulnerability db: %v", err)
	}
	out := filepath.Join(dir, "vulndb.tar.gz")
	if err := WriteArchive(filepath.Join(dir, "db"), out); err != nil {
		t.Fatalf("archive vulnerability db: %v", err)
	}
	return out
}

// Built is a build time for fixture databases: the current second, so
// grype's age checks (when a test leaves them on) pass.
func Built() time.Time { return time.Now().UTC().Truncate(time.Second) }

// ImportedDB imports a fixture database built at built into a new
// directory of t with vulndb.Import, and returns it open.
func ImportedDB(t testing.TB, built time.Time) *vulndb.DB {
	t.Helper()
	ctx := context.Background()
	db, err := vulndb.Open(ctx, filepath.Join(t.TempDir(), "vulndb"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Import(ctx, Archive(t, built)); err != nil {
		t.Fatalf("import vulnerability db: %v", err)
	}
	return db
}
