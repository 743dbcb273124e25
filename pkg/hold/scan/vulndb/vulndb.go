package vulndb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	v6 "github.com/anchore/grype/grype/db/v6"
	"github.com/anchore/grype/grype/vulnerability"
)

// ErrNoDatabase means there is no usable vulnerability database: none was
// imported yet, or the one in the directory cannot be opened. A scanner
// records the scan as skipped ("no vulnerability database").
var ErrNoDatabase = errors.New("no vulnerability database")

// Status describes the database in the directory.
type Status struct {
	// Dir is the database directory (scanner.db_dir); Path the database
	// file inside it.
	Dir, Path string
	// Present is true when a database was opened; Err says why one that
	// exists on disk could not be.
	Present bool
	Err     error
	// Schema is the database's schema version ("v6.1.10"), Built when it
	// was built, From where it was imported from ("manual import" or the
	// download URL).
	Schema string
	Built  time.Time
	From   string
	// Providers are the vulnerability data sources in the database.
	Providers []Provider
}

// Provider is one vulnerability data source of the database (a vunnel
// provider such as "alpine" or "nvd").
type Provider struct {
	ID, Version string
	// Captured is when the provider's data was pulled from upstream.
	Captured time.Time
}

// DB is the vulnerability database in one directory. Its methods are safe
// for concurrent use.
type DB struct {
	dir string

	// maintain serialises Import and Update.
	maintain sync.Mutex

	mu       sync.Mutex
	cur      *Handle // nil without a usable database
	status   Status
	stamp    os.FileInfo // of the file cur was opened from
	onChange []func(Status)
}

// Handle is an open database lent to one scan by Acquire. It stays usable
// until Release, even when an import replaces the database meanwhile.
type Handle struct {
	// Provider answers the matcher's queries.
	Provider vulnerability.Provider
	// Status describes the database, as grype's JSON report shows it.
	Status vulnerability.ProviderStatus

	db      *DB
	link    string // the reader's own directory (see open)
	refs    int    // scans holding it, plus one while it is current
	retired bool   // replaced: closed when refs reaches zero
}

// Open opens the database in dir, creating the directory when it is
// missing. A directory without a database is not an error: Status says so
// and Acquire returns ErrNoDatabase until one is imported.
func Open(ctx context.Context, dir string) (*DB, error) {
	if dir == "" {
		return nil, errors.New("vulnerability database: no directory given")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("vulnerability database directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("vulnerability database directory: %w", err)
	}
	d := &DB{dir: abs}
	removeStaleReaders(abs)
	d.status = Status{Dir: abs, Path: d.filePath()}
	if _, err := d.refresh(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

// Dir is the database directory.
func (d *DB) Dir() string { return d.dir }

// filePath is where grype's curator keeps the schema-6 database.
func (d *DB) filePath() string {
	return filepath.Join(d.dir, strconv.Itoa(v6.ModelVersion), v6.VulnerabilityDBFileName)
}

// Status reports the database in the directory, reopening it first when
// the file changed (another process imported one).
func (d *DB) Status(ctx context.Context) Status {
	st, _ := d.refresh(ctx)
	return st
}

// OnChange registers fn to be called whenever the database Acquire serves
// changes its build time (an import, an update, another process's import):
// the job side rescans manifests then. fn runs on the goroutine that noticed
// the change and must not block.
func (d *DB) OnChange(fn func(Status)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.onChange = append(d.onChange, fn)
}

// Acquire lends the current database to a scan; the caller must Release
// it. Without a usable database it returns an error wrapping
// ErrNoDatabase.
func (d *DB) Acquire(ctx context.Context) (*Handle, error) {
	st, err := d.refresh(ctx)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cur == nil {
		if st.Err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoDatabase, st.Err)
		}
		return nil, ErrNoDatabase
	}
	d.cur.refs++
	return d.cur, nil
}

// Release gives the database back; a replaced database is closed when its
// last scan releases it.
func (h *Handle) Release() {
	d := h.db
	d.mu.Lock()
	defer d.mu.Unlock()
	h.unref()
}

// unref drops one reference; d.mu is held.
func (h *Handle) unref() {
	h.refs--
	if h.refs == 0 && h.retired {
		h.close()
	}
}

// Close closes the current database (scans holding it keep it until they
// release it).
func (d *DB) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cur != nil {
		d.cur.retired = true
		d.cur.unref()
		d.cur = nil
	}
	return nil
}

// refresh reopens the database when the file on disk is not the one open
// (or there was none), and calls the OnChange functions when the build time
// changed. The error is for a directory that cannot be read at all.
func (d *DB) refresh(ctx context.Context) (Status, error) {
	if err := ctx.Err(); err != nil {
		return Status{}, err
	}
	fi, statErr := os.Stat(d.filePath())
	d.mu.Lock()
	if statErr != nil && !errors.Is(statErr, os.ErrNotExist) {
		d.mu.Unlock()
		return Status{}, fmt.Errorf("vulnerability database: %w", statErr)
	}
	if sameFile(d.stamp, fi) {
		st := d.status
		d.mu.Unlock()
		return st, nil
	}
	d.mu.Unlock()

	// Opening reads the file: do it outside the lock.
	var h *Handle
	st := Status{Dir: d.dir, Path: d.filePath()}
	if fi != nil {
		var err error
		h, st, err = d.open()
		if err != nil {
			st.Err = err
		}
	}

	d.mu.Lock()
	if sameFile(d.stamp, fi) { // another goroutine got there first
		st := d.status
		d.mu.Unlock()
		if h != nil {
			h.close()
		}
		return st, nil
	}
	old := d.cur
	changed := !old.built().Equal(st.Built)
	if old != nil {
		old.retired = true
		old.unref()
	}
	d.cur, d.status, d.stamp = h, st, fi
	callbacks := append([]func(Status){}, d.onChange...)
	d.mu.Unlock()

	if changed && st.Present {
		for _, fn := range callbacks {
			fn(st)
		}
	}
	return st, nil
}

// open opens the database file read-only.
//
// grype opens its database with SQLite's shared cache, which is keyed by
// the file's path: a second reader of the same path in the process would
// see the first one's pages, so a replaced database would keep being
// served. Each reader therefore opens its own hard link of the file, in a
// directory of its own under <dir>/readers, removed when it is closed (the
// link also keeps the replaced file's bytes for the scans still using it).
func (d *DB) open() (*Handle, Status, error) {
	st := Status{Dir: d.dir, Path: d.filePath()}
	link, err := d.linkReader()
	if err != nil {
		return nil, st, err
	}
	rdr, err := v6.NewReader(v6.Config{DBDirPath: link})
	if err != nil {
		os.RemoveAll(link)
		return nil, st, fmt.Errorf("open %s: %w", d.filePath(), err)
	}
	fail := func(err error) (*Handle, Status, error) {
		_ = rdr.Close()
		os.RemoveAll(link)
		return nil, st, err
	}
	meta, err := rdr.GetDBMetadata()
	if err != nil || meta == nil || meta.BuildTimestamp == nil {
		return fail(fmt.Errorf("read %s: no build metadata (%v)", d.filePath(), err))
	}
	provs, err := rdr.AllProviders()
	if err != nil {
		return fail(fmt.Errorf("read the providers of %s: %w", d.filePath(), err))
	}
	st.Present = true
	st.Built = meta.BuildTimestamp.UTC()
	st.Schema = fmt.Sprintf("v%d.%d.%d", meta.Model, meta.Revision, meta.Addition)
	for _, p := range provs {
		prov := Provider{ID: p.ID, Version: p.Version}
		if p.DateCaptured != nil {
			prov.Captured = p.DateCaptured.UTC()
		}
		st.Providers = append(st.Providers, prov)
	}
	if im, err := readImportSource(filepath.Dir(d.filePath())); err == nil {
		st.From = im
	}
	h := &Handle{
		Provider: v6.NewVulnerabilityProvider(rdr),
		Status: vulnerability.ProviderStatus{
			SchemaVersion: st.Schema,
			From:          st.From,
			Built:         st.Built,
			Path:          st.Path,
		},
		db:   d,
		link: link,
		refs: 1,
	}
	return h, st, nil
}

// readersDir holds the readers' links.
func (d *DB) readersDir() string { return filepath.Join(d.dir, "readers") }

// linkReader makes a new reader directory holding a hard link of the
// database file, named after this process so stale ones can be found.
func (d *DB) linkReader() (string, error) {
	if err := os.MkdirAll(d.readersDir(), 0o700); err != nil {
		return "", fmt.Errorf("vulnerability database readers: %w", err)
	}
	link, err := os.MkdirTemp(d.readersDir(), fmt.Sprintf("pid%d-", os.Getpid()))
	if err != nil {
		return "", fmt.Errorf("vulnerability database readers: %w", err)
	}
	if err := os.Link(d.filePath(), filepath.Join(link, v6.VulnerabilityDBFileName)); err != nil {
		os.RemoveAll(link)
		return "", fmt.Errorf("link %s for reading: %w", d.filePath(), err)
	}
	return link, nil
}

// close closes the reader and removes its link.
func (h *Handle) close() {
	// A read-only database: a failed close loses nothing.
	_ = closeProvider(h.Provider)
	if h.link != "" {
		os.RemoveAll(h.link)
	}
}

// removeStaleReaders removes reader links left by processes that are gone
// (a crashed hold), which would otherwise keep old databases on disk.
func removeStaleReaders(dir string) {
	entries, err := os.ReadDir(filepath.Join(dir, "readers"))
	if err != nil {
		return
	}
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "pid%d-", &pid); err != nil || pid <= 0 {
			continue
		}
		if pid != os.Getpid() && !processAlive(pid) {
			os.RemoveAll(filepath.Join(dir, "readers", e.Name()))
		}
	}
}

// built is the handle's database build time (zero for nil).
func (h *Handle) built() time.Time {
	if h == nil {
		return time.Time{}
	}
	return h.Status.Built
}

// Built is when the lent database was built.
func (h *Handle) Built() time.Time { return h.built() }

// sameFile reports whether two stats are of the same, unchanged file (two
// absent files are the same too).
func sameFile(a, b os.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// closeProvider closes a vulnerability provider (it owns the reader).
func closeProvider(p vulnerability.Provider) error {
	if c, ok := p.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}
