package grypescan

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"atcr.io/pkg/hold/scan"
	"atcr.io/pkg/hold/scan/vulndb"
	"atcr.io/pkg/oci"
)

// Options configure a Scanner. The zero value of each limit takes the
// default named beside it (the config defaults of the scanner section).
type Options struct {
	// DB is the vulnerability database (required).
	DB *vulndb.DB
	// TempDir is where each job gets its directory (scanner.temp_dir); it
	// is created when missing.
	TempDir string
	// MaxTempDisk bounds the apparent size of an image's files
	// (scanner.max_temp_disk; default 8 GiB).
	MaxTempDisk int64
	// MaxFiles bounds an image's tar entries over all layers
	// (scanner.max_files; default 500,000).
	MaxFiles int
	// MaxRatio and MinBombBytes are the decompression bomb guard: a layer
	// whose tar stream grows beyond MinBombBytes (default 64 MiB) and beyond
	// MaxRatio (default 100) times the compressed bytes read is failed.
	MaxRatio     int64
	MinBombBytes int64
	// Logger receives a line per scan; nil discards.
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultMaxTempDisk  = 8 << 30
	DefaultMaxFiles     = 500_000
	DefaultMaxRatio     = 100
	DefaultMinBombBytes = 64 << 20
)

// Scanner scans images with syft and grype. It implements scan.Scanner.
//
// Unpacking runs concurrently for concurrent Scans (each in its own job
// directory, each within its own limits, so the disk a hold needs is
// workers × max_temp_disk). Cataloging and matching run one scan at a time
// per process: grype and syft keep process-wide state (logger, event bus,
// caches) and are not documented as safe for concurrent use.
type Scanner struct {
	opts Options
	// catalog is held (a one-slot semaphore, so a waiting scan can still be
	// cancelled) while syft and grype run.
	catalog chan struct{}
}

var _ scan.Scanner = (*Scanner)(nil)

// New returns a Scanner. It silences grype's and syft's own logging.
func New(opts Options) (*Scanner, error) {
	if opts.DB == nil {
		return nil, errors.New("grypescan: no vulnerability database given")
	}
	if opts.TempDir == "" {
		return nil, errors.New("grypescan: no temp directory given")
	}
	if err := os.MkdirAll(opts.TempDir, 0o700); err != nil {
		return nil, fmt.Errorf("grypescan: temp directory: %w", err)
	}
	if opts.MaxTempDisk <= 0 {
		opts.MaxTempDisk = DefaultMaxTempDisk
	}
	if opts.MaxFiles <= 0 {
		opts.MaxFiles = DefaultMaxFiles
	}
	if opts.MaxRatio <= 0 {
		opts.MaxRatio = DefaultMaxRatio
	}
	if opts.MinBombBytes <= 0 {
		opts.MinBombBytes = DefaultMinBombBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	vulndb.SilenceGrype()
	return &Scanner{opts: opts, catalog: make(chan struct{}, 1)}, nil
}

// jobDirPrefix names each scan's directory under the temp directory.
const jobDirPrefix = "job-"

// RemoveLeftovers removes the job directories a scanner process left in
// tempDir when it was killed mid-scan (a scan removes its own directory
// however it ends, but SIGKILL or a power cut ends no scan). Call it only
// where no scanner is running on tempDir: the hold at start-up, holding
// its data directory's lock. It returns the names removed.
func RemoveLeftovers(tempDir string) ([]string, error) {
	entries, err := os.ReadDir(tempDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("scan temp directory: %w", err)
	}
	var removed []string
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), jobDirPrefix) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(tempDir, e.Name())); err != nil {
			return removed, fmt.Errorf("remove a killed scan's files: %w", err)
		}
		removed = append(removed, e.Name())
	}
	return removed, nil
}

// ReasonNoDatabase is the reason of a scan skipped for want of a database.
const ReasonNoDatabase = "no vulnerability database"

// Scan scans img. See scan.Scanner: a hostile or broken image is a failed
// Result, an artifact or a missing database a skipped one; an error means
// "try again later" (ctx ended, storage or the hold's disk failed). The
// job's temp directory is gone when Scan returns, whatever the outcome.
func (s *Scanner) Scan(ctx context.Context, img scan.Image, blobs scan.Blobs) (scan.Result, error) {
	start := time.Now()
	res, built, err := s.scan(ctx, img, blobs)
	if err != nil {
		if ctx.Err() != nil {
			return scan.Result{}, ctx.Err()
		}
		return scan.Result{}, err
	}
	// Every record names its scanner (scannerVersion is required), the
	// database too when there is one.
	res.ScannerVersion = ScannerVersion(built)
	res.DBBuilt = built
	s.opts.Logger.Info("Image scanned", "digest", img.Digest.String(), "status", res.Status,
		"reason", res.Reason, "vulnerabilities", res.Counts.Total, "took", time.Since(start).Round(time.Millisecond))
	return res, nil
}

// scan is Scan without the naming; built is the database's build time
// (zero without one).
func (s *Scanner) scan(ctx context.Context, img scan.Image, blobs scan.Blobs) (scan.Result, time.Time, error) {
	if reason := skipReason(img); reason != "" {
		return scan.Result{Status: scan.StatusSkipped, Reason: reason}, s.opts.DB.Status(ctx).Built, nil
	}
	if reason := descriptorProblem(img); reason != "" {
		return scan.Result{Status: scan.StatusFailed, Reason: reason}, s.opts.DB.Status(ctx).Built, nil
	}
	h, err := s.opts.DB.Acquire(ctx)
	if errors.Is(err, vulndb.ErrNoDatabase) {
		return scan.Result{Status: scan.StatusSkipped, Reason: ReasonNoDatabase}, time.Time{}, nil
	}
	if err != nil {
		return scan.Result{}, time.Time{}, err
	}
	defer h.Release()

	jobDir, err := os.MkdirTemp(s.opts.TempDir, jobDirPrefix+"*")
	if err != nil {
		return scan.Result{}, time.Time{}, fmt.Errorf("scan temp directory: %w", err)
	}
	defer func() {
		if err := os.RemoveAll(jobDir); err != nil {
			s.opts.Logger.Error("Scan temp directory not removed", "dir", jobDir, "err", err)
		}
	}()

	res, err := s.scanIn(ctx, jobDir, img, blobs, h)
	var hErr *hostileError
	switch {
	case errors.As(err, &hErr):
		res = scan.Result{Status: scan.StatusFailed, Reason: hErr.reason}
	case err != nil:
		return scan.Result{}, time.Time{}, err
	}
	return res, h.Built(), nil
}

// scanIn unpacks the image under jobDir and catalogs and matches it.
func (s *Scanner) scanIn(ctx context.Context, jobDir string, img scan.Image, blobs scan.Blobs, h *vulndb.Handle) (scan.Result, error) {
	rootDir := filepath.Join(jobDir, "rootfs")
	if err := os.Mkdir(rootDir, 0o700); err != nil {
		return scan.Result{}, fmt.Errorf("scan root directory: %w", err)
	}
	if err := s.unpack(ctx, rootDir, img, blobs); err != nil {
		return scan.Result{}, err
	}
	select {
	case s.catalog <- struct{}{}:
	case <-ctx.Done():
		return scan.Result{}, ctx.Err()
	}
	defer func() { <-s.catalog }()
	return s.match(ctx, jobDir, rootDir, img, h)
}

// unpack applies every layer to rootDir.
func (s *Scanner) unpack(ctx context.Context, rootDir string, img scan.Image, blobs scan.Blobs) error {
	root, err := os.OpenRoot(rootDir)
	if err != nil {
		return fmt.Errorf("scan root directory: %w", err)
	}
	defer root.Close()
	u := newUnpacker(root, &s.opts)
	for _, desc := range img.Layers {
		if err := s.applyLayer(ctx, u, blobs, desc); err != nil {
			return err
		}
	}
	return nil
}

func (s *Scanner) applyLayer(ctx context.Context, u *unpacker, blobs scan.Blobs, desc oci.Descriptor) error {
	l, err := s.openLayer(ctx, blobs, desc)
	if err != nil {
		return err
	}
	defer l.Close()
	return u.applyLayer(ctx, l, desc)
}

// descriptorProblem checks the descriptors a scan relies on.
func descriptorProblem(img scan.Image) string {
	for i, l := range img.Layers {
		if l.Digest.IsZero() {
			return fmt.Sprintf("layer %d has no digest", i)
		}
		if l.Size < 0 {
			return fmt.Sprintf("layer %s has a negative size", l.Digest)
		}
	}
	return ""
}

// ScannerVersion names the scanner and its database for a record's
// scannerVersion: "grype-v0.121.2 db-2026-12-01T00:00:00Z" (at most 64
// characters).
func ScannerVersion(built time.Time) string {
	v := "grype-" + vulndb.GrypeVersion()
	if !built.IsZero() {
		v += " db-" + built.UTC().Format(time.RFC3339)
	}
	if len(v) > 64 {
		v = v[:64]
	}
	return v
}
