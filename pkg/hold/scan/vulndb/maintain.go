package vulndb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/anchore/clio"
	v6 "github.com/anchore/grype/grype/db/v6"
	"github.com/anchore/grype/grype/db/v6/distribution"
	"github.com/anchore/grype/grype/db/v6/installation"
	"github.com/spf13/afero"
)

// grypeModule is the module whose version names the scanner.
const grypeModule = "github.com/anchore/grype"

// grypeRequired is the grype version go.mod requires (a test keeps the two
// equal): the answer of GrypeVersion where the binary carries no module
// list (test binaries).
const grypeRequired = "v0.121.2"

// GrypeVersion is the version of the grype library linked into this binary
// ("v0.121.2").
func GrypeVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == grypeModule {
				if m.Replace != nil {
					return m.Replace.Version
				}
				return m.Version
			}
		}
	}
	return grypeRequired
}

// curator is grype's own installer of databases into dir, configured as
// an offline hold wants it: the checksum is verified, the age is not (an
// old database is still far better than none; Status shows its age).
func (d *DB) curator(client distribution.Client) (v6.Curator, error) {
	return installation.NewCurator(installation.Config{
		DBRootDir:        d.dir,
		ValidateChecksum: true,
	}, client)
}

// Import installs the database archive at archivePath (a .tar.gz / .tar.zst
// archive as grype publishes them, or a bare vulnerability.db file) with
// grype's curator, replacing the current database, and reopens it. Scans
// running meanwhile finish with the database they started with.
func (d *DB) Import(ctx context.Context, archivePath string) (Status, error) {
	fi, err := os.Stat(archivePath)
	if err != nil {
		return Status{}, fmt.Errorf("import vulnerability database: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return Status{}, fmt.Errorf("import vulnerability database: %s is not a regular file", archivePath)
	}
	if strings.Contains(archivePath, "://") {
		// The curator would download a URL; importing is for local files.
		return Status{}, fmt.Errorf("import vulnerability database: %s is a URL, not a file", archivePath)
	}
	d.maintain.Lock()
	defer d.maintain.Unlock()
	if err := ctx.Err(); err != nil {
		return Status{}, err
	}
	c, err := d.curator(nil)
	if err != nil {
		return Status{}, fmt.Errorf("import vulnerability database: %w", err)
	}
	silenceGrype()
	if err := c.Import(archivePath); err != nil {
		return Status{}, fmt.Errorf("import vulnerability database %s: %w", archivePath, err)
	}
	if s := c.Status(); s.Error != nil {
		return Status{}, fmt.Errorf("import vulnerability database %s: the installed database does not check out: %w", archivePath, s.Error)
	}
	return d.loaded(ctx)
}

// Update asks the listing at listingURL (e.g.
// https://grype.anchore.io/databases) for a newer database and installs it
// with grype's curator; it reports whether a new database was installed.
// It is the only network access of the package and runs only when the
// operator configured scanner.db_update_url.
func (d *DB) Update(ctx context.Context, listingURL string) (bool, Status, error) {
	d.maintain.Lock()
	defer d.maintain.Unlock()
	if err := ctx.Err(); err != nil {
		return false, Status{}, err
	}
	cfg := distribution.DefaultConfig()
	cfg.ID = clio.Identification{Name: "atcr-hold", Version: GrypeVersion()}
	cfg.LatestURL = listingURL
	client, err := distribution.NewClient(cfg)
	if err != nil {
		return false, Status{}, fmt.Errorf("update vulnerability database: %w", err)
	}
	c, err := d.curator(client)
	if err != nil {
		return false, Status{}, fmt.Errorf("update vulnerability database: %w", err)
	}
	silenceGrype()
	updated, err := c.Update()
	if err != nil {
		return false, Status{}, fmt.Errorf("update vulnerability database from %s: %w", listingURL, err)
	}
	st, err := d.loaded(ctx)
	return updated, st, err
}

// loaded reopens the database after an install and checks that it opened.
func (d *DB) loaded(ctx context.Context) (Status, error) {
	st, err := d.refresh(ctx)
	if err != nil {
		return st, err
	}
	if !st.Present {
		if st.Err != nil {
			return st, fmt.Errorf("the installed vulnerability database cannot be opened: %w", st.Err)
		}
		return st, errors.New("no vulnerability database after the install")
	}
	return st, nil
}

// readImportSource returns where the database in dir was imported from.
func readImportSource(dir string) (string, error) {
	im, err := v6.ReadImportMetadata(afero.NewOsFs(), dir)
	if err != nil {
		return "", err
	}
	return im.Source, nil
}

// LogStatus says, in one line an operator understands, whether scanning
// has a database; the hold calls it once at start-up.
func (d *DB) LogStatus(ctx context.Context, logger *slog.Logger) {
	st := d.Status(ctx)
	switch {
	case st.Present:
		logger.Info("Vulnerability database loaded",
			"built", st.Built.Format(time.RFC3339), "age", time.Since(st.Built).Round(time.Hour).String(),
			"schema", st.Schema, "providers", len(st.Providers), "dir", st.Dir)
	case st.Err != nil:
		logger.Warn("Vulnerability database cannot be opened: scanning is off and scans are recorded as skipped "+
			"until a working one is imported with 'atcr-hold scanner db import <archive>'",
			"dir", st.Dir, "err", st.Err)
	default:
		logger.Warn("No vulnerability database: scanning is off and scans are recorded as skipped "+
			"until one is imported with 'atcr-hold scanner db import <archive>' (or scanner.db_update_url is set)",
			"dir", st.Dir)
	}
}
