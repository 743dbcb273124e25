package scans

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"golang.org/x/sync/singleflight"

	"atcr.io/pkg/appview/browse"
	"atcr.io/pkg/appview/bytecache"
	"atcr.io/pkg/appview/holdclient"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/safehttp"
	"atcr.io/pkg/oci"
)

// Defaults applied when the matching Options field is zero.
const (
	DefaultCacheBytes     = 64 << 20
	DefaultMaxReportBytes = 16 << 20
	DefaultPageSize       = 50
	// DefaultRecordTTL keeps a finished scan's record: it changes only
	// when the hold rescans (a new database), and a badge that showed it
	// a few minutes longer is harmless.
	DefaultRecordTTL = 5 * time.Minute
	// DefaultPendingTTL keeps the answers that change soon: no record yet,
	// a queued or running job. Shorter than the badge's 5 s poll.
	DefaultPendingTTL = 4 * time.Second
	// DefaultDownTTL is how long a hold that failed is not asked again, so
	// a page of fifty badges does not make fifty calls to a dead hold.
	DefaultDownTTL = 15 * time.Second
	// callTimeout bounds one badge's or modal's calls to the hold.
	callTimeout = 10 * time.Second
	maxReason   = 512 // the lexicon's maxLength of statusReason
	maxScanner  = 64  // and of scannerVersion
	// minSideCache keeps the status and down caches useful under the
	// smallest cache.scan_bytes (64 KiB).
	minSideCache = 64 << 10
)

// Manifests is what the service needs of the repository pages' records
// (*browse.Service): where a manifest is, and which hold it names.
type Manifests interface {
	Locate(ctx context.Context, name oci.Repository, d oci.Digest) (*browse.Located, error)
}

// Options configures New.
type Options struct {
	// Manifests finds the hold of a manifest. Required.
	Manifests Manifests
	// Directory resolves hold DIDs to their endpoints. Required.
	Directory identity.Directory
	// HTTP is the base of the guarded client (network switches, RootCAs).
	HTTP safehttp.Options
	// CacheBytes bounds each of the caches (records and statuses, parsed
	// reports). Default 64 MiB (cache.scan_bytes).
	CacheBytes int64
	// MaxReportBytes bounds a report the modal reads. Default 16 MiB
	// (ui.scan_report_bytes); a larger one is ReportTooLarge.
	MaxReportBytes int64
	// MaxRows bounds the rows kept of one report. Default DefaultMaxRows.
	MaxRows int
	// PageSize is the modal's rows per page. Default 50.
	PageSize int
	// RecordTTL, PendingTTL, DownTTL: see the defaults.
	RecordTTL, PendingTTL, DownTTL time.Duration
	// Logger defaults to slog.Default(); Now to time.Now.
	Logger *slog.Logger
	Now    func() time.Time
}

// Service answers the badges and the modal. It is safe for concurrent
// use.
type Service struct {
	opts      Options
	manifests Manifests
	holds     *holdclient.Client
	records   *bytecache.Cache[scanKey, recordAnswer]
	statuses  *bytecache.Cache[scanKey, holdclient.ScanStatus]
	down      *bytecache.Cache[syntax.DID, string]
	reports   *bytecache.Cache[reportKey, *Report]
	// failedReports keeps why a report could not be shown (report).
	failedReports *bytecache.Cache[reportKey, error]
	flight        singleflight.Group
	log           *slog.Logger
}

// scanKey names one manifest's scan on one hold.
type scanKey struct {
	hold   syntax.DID
	digest oci.Digest
}

func (k scanKey) bytes() int64 { return int64(len(k.hold) + len(k.digest.String())) }

// reportKey names a report blob: content addressed, so immutable.
type reportKey struct {
	hold syntax.DID
	cid  string
}

// recordAnswer is a record, or why there is none (ErrRecordNotFound,
// ErrInvalidRecord).
type recordAnswer struct {
	rec *atcr.HoldScan
	err error
}

// New returns a Service.
func New(opts Options) (*Service, error) {
	if opts.Manifests == nil || opts.Directory == nil {
		return nil, errors.New("scans: Options.Manifests and Options.Directory are required")
	}
	opts.CacheBytes = cmp.Or(opts.CacheBytes, DefaultCacheBytes)
	opts.MaxReportBytes = cmp.Or(opts.MaxReportBytes, DefaultMaxReportBytes)
	opts.MaxRows = cmp.Or(opts.MaxRows, DefaultMaxRows)
	opts.PageSize = cmp.Or(opts.PageSize, DefaultPageSize)
	opts.RecordTTL = cmp.Or(opts.RecordTTL, DefaultRecordTTL)
	opts.PendingTTL = cmp.Or(opts.PendingTTL, DefaultPendingTTL)
	opts.DownTTL = cmp.Or(opts.DownTTL, DefaultDownTTL)
	if opts.CacheBytes < 0 || opts.MaxReportBytes < 0 || opts.MaxRows < 0 || opts.PageSize < 0 {
		return nil, errors.New("scans: negative Options value")
	}
	if opts.MaxReportBytes > holdclient.MaxReportCeiling {
		return nil, fmt.Errorf("scans: MaxReportBytes above %d (the lexicon's maxSize)", holdclient.MaxReportCeiling)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	holds, err := holdclient.New(holdclient.Options{Directory: opts.Directory, HTTP: opts.HTTP})
	if err != nil {
		return nil, fmt.Errorf("scans: %w", err)
	}
	return &Service{
		opts:      opts,
		manifests: opts.Manifests,
		holds:     holds,
		records: bytecache.NewTTL(opts.CacheBytes, opts.RecordTTL, opts.Now, func(k scanKey, a recordAnswer) int64 {
			return k.bytes() + recordBytes(a.rec)
		}),
		statuses: bytecache.NewTTL(max(opts.CacheBytes/8, minSideCache), opts.PendingTTL, opts.Now, func(k scanKey, s holdclient.ScanStatus) int64 {
			return k.bytes() + int64(len(s.Digest)+len(s.State)) + 8
		}),
		down: bytecache.NewTTL(max(opts.CacheBytes/64, minSideCache), opts.DownTTL, opts.Now, func(k syntax.DID, why string) int64 {
			return int64(len(k) + len(why))
		}),
		reports: bytecache.NewImmutable(opts.CacheBytes, func(k reportKey, r *Report) int64 {
			return int64(len(k.hold)+len(k.cid)) + r.bytes
		}),
		failedReports: bytecache.NewTTL(max(opts.CacheBytes/64, minSideCache), opts.RecordTTL, opts.Now, func(k reportKey, err error) int64 {
			return int64(len(k.hold)+len(k.cid)) + 256 // the error's text, roughly
		}),
		log: opts.Logger,
	}, nil
}

func recordBytes(r *atcr.HoldScan) int64 {
	if r == nil {
		return 0
	}
	return int64(len(r.Manifest)+len(r.Repository)+len(r.UserDID)+len(r.Status)+len(r.StatusReason)+
		len(r.ScannerVersion)+len(r.ScannedAt)) + 5*8 + 2*128
}

// Badge answers the badge of manifest d of the repository. Failures of
// the manifest lookup are browse's errors (ErrNotFound, ErrUnavailable);
// failures of the hold are a badge state, never an error.
func (s *Service) Badge(ctx context.Context, name oci.Repository, d oci.Digest) (*Badge, error) {
	loc, err := s.manifests.Locate(ctx, name, d)
	if err != nil {
		return nil, err
	}
	b := &Badge{Name: loc.Name, Digest: d}
	if loc.Kind == browse.KindIndex {
		b.State, b.Platforms = StateIndex, loc.Platforms
		return b, nil
	}
	if loc.Hold == "" {
		b.State, b.Reason = StateUnavailable, "the manifest record names no hold"
		return b, nil
	}
	ctx, cancel := context.WithTimeoutCause(ctx, callTimeout, errHoldSlow)
	defer cancel()
	_ = s.fill(ctx, b, loc.Hold)
	return b, nil
}

// fill sets the badge's state from the hold's job status and record, and
// returns the record when the badge comes from one.
func (s *Service) fill(ctx context.Context, b *Badge, did syntax.DID) *atcr.HoldScan {
	if why, ok := s.down.Get(did); ok {
		b.State, b.Reason = StateUnavailable, why
		return nil
	}
	h, err := s.holds.Hold(ctx, did, "")
	if err != nil {
		s.holdDown(ctx, b, did, "the hold's identity could not be resolved", err)
		return nil
	}
	key := scanKey{did, b.Digest}
	st, err := s.status(ctx, h, key)
	if err != nil {
		// The status is advisory: the record may still say how it went.
		s.log.DebugContext(ctx, "scans: getScanStatus", "hold", did, "digest", b.Digest, "err", err)
	}
	if st.State == holdclient.ScanQueued || st.State == holdclient.ScanScanning {
		b.State, b.Attempt = StateQueued, st.Attempt
		if st.State == holdclient.ScanScanning {
			b.State = StateScanning
		}
		// A rescan replaces the record: read it afresh once the job is done.
		s.records.Remove(key)
		return nil
	}
	rec, err := s.record(ctx, h, key)
	switch {
	case errors.Is(err, holdclient.ErrRecordNotFound):
		b.State = StateNotScanned
	case errors.Is(err, holdclient.ErrInvalidRecord):
		s.log.WarnContext(ctx, "scans: unusable scan record", "hold", did, "digest", b.Digest, "err", err)
		b.State, b.Reason = StateInvalid, "the hold's scan record could not be read"
	case err != nil:
		s.holdDown(ctx, b, did, "the hold did not answer", err)
	default:
		fromRecord(b, rec)
		return rec
	}
	return nil
}

// holdDown marks a failed hold for DownTTL and says so on the badge. A
// call cut short because the visitor went away says nothing of the hold:
// the hold is not marked (it is shared: one visitor's leaving must not
// blank every badge of the hold for everyone).
func (s *Service) holdDown(ctx context.Context, b *Badge, did syntax.DID, why string, err error) {
	b.State, b.Reason = StateUnavailable, why
	if ctx.Err() != nil && !errors.Is(context.Cause(ctx), errHoldSlow) {
		s.log.DebugContext(ctx, "scans: visitor left during a hold call", "hold", did, "err", err)
		return
	}
	s.log.WarnContext(ctx, "scans: hold unavailable", "hold", did, "err", err)
	s.down.Set(did, why)
}

// errHoldSlow is the cause of a badge's or modal's context that ran out
// of callTimeout: the hold was too slow, unlike a visitor who left.
var errHoldSlow = errors.New("the hold did not answer within the call timeout")

// fromRecord reads the badge off a scan record.
func fromRecord(b *Badge, rec *atcr.HoldScan) {
	b.Counts = Counts{Critical: rec.Critical, High: rec.High, Medium: rec.Medium, Low: rec.Low, Total: rec.Total}
	b.Counts.Total = max(b.Counts.Total, b.Counts.Critical+b.Counts.High+b.Counts.Medium+b.Counts.Low)
	b.ScannedAt, _ = time.Parse(time.RFC3339Nano, rec.ScannedAt)
	b.ScannerVersion = clean(rec.ScannerVersion, maxScanner)
	b.HasReport = rec.VulnReportBlob != nil && rec.VulnReportBlob.Ref.IsDefined()
	switch strings.ToLower(rec.Status) {
	case "skipped":
		b.State, b.Reason = StateSkipped, clean(rec.StatusReason, maxReason)
	case "failed":
		b.State, b.Reason = StateFailed, clean(rec.StatusReason, maxReason)
	case "", "completed":
		b.State = StateVulnerable
		if b.Counts.Total == 0 {
			b.State = StateClean
		}
	default:
		b.State, b.Reason = StateInvalid, "the scan record has an unknown status"
	}
}

// status reads the job status, cached for PendingTTL.
func (s *Service) status(ctx context.Context, h holdclient.Hold, key scanKey) (holdclient.ScanStatus, error) {
	if st, ok := s.statuses.Get(key); ok {
		return st, nil
	}
	st, err := s.holds.ScanStatus(ctx, h, key.digest)
	if err != nil {
		return holdclient.ScanStatus{State: holdclient.ScanNone}, err
	}
	s.statuses.Set(key, st)
	return st, nil
}

// record reads the scan record: a record is kept RecordTTL, a missing or
// unusable one PendingTTL, a failure not at all.
func (s *Service) record(ctx context.Context, h holdclient.Hold, key scanKey) (*atcr.HoldScan, error) {
	if a, ok := s.records.Get(key); ok {
		return a.rec, a.err
	}
	rec, err := s.holds.ScanRecord(ctx, h, key.digest)
	switch {
	case err == nil:
		s.records.Set(key, recordAnswer{rec: rec})
	case errors.Is(err, holdclient.ErrRecordNotFound), errors.Is(err, holdclient.ErrInvalidRecord):
		s.records.SetFor(key, recordAnswer{err: err}, s.opts.PendingTTL)
	}
	return rec, err
}

// Details answers the modal of manifest d: its badge and, when the record
// has a report, one page of its rows.
func (s *Service) Details(ctx context.Context, name oci.Repository, d oci.Digest, q Query) (*Details, error) {
	loc, err := s.manifests.Locate(ctx, name, d)
	if err != nil {
		return nil, err
	}
	b := &Badge{Name: loc.Name, Digest: d}
	out := &Details{Badge: b, State: ReportNone, Hold: loc.Hold, Filter: q.Severity, MaxBytes: s.opts.MaxReportBytes, MaxRows: s.opts.MaxRows}
	switch {
	case loc.Kind == browse.KindIndex:
		b.State, b.Platforms = StateIndex, loc.Platforms
		return out, nil
	case loc.Hold == "":
		b.State, b.Reason = StateUnavailable, "the manifest record names no hold"
		return out, nil
	}
	ctx, cancel := context.WithTimeoutCause(ctx, callTimeout, errHoldSlow)
	defer cancel()
	rec := s.fill(ctx, b, loc.Hold)
	if rec == nil || (b.State != StateVulnerable && b.State != StateClean) || !b.HasReport {
		return out, nil
	}
	rep, err := s.report(ctx, loc.Hold, rec)
	switch {
	case errors.Is(err, holdclient.ErrReportTooLarge):
		out.State = ReportTooLarge
	case errors.Is(err, registry.ErrUnavailable):
		s.log.WarnContext(ctx, "scans: report", "hold", loc.Hold, "digest", d, "err", err)
		out.State = ReportUnavailable
	case errors.Is(err, errNotReport):
		s.log.WarnContext(ctx, "scans: unusable report", "hold", loc.Hold, "digest", d, "err", err)
		out.State = ReportInvalid
	case err != nil:
		s.log.WarnContext(ctx, "scans: report", "hold", loc.Hold, "digest", d, "err", err)
		out.State = ReportUnavailable
	default:
		out.State = ReportShown
		s.page(out, rep, q)
	}
	return out, nil
}

// page fills one page of the rows the filter lets through.
func (s *Service) page(out *Details, rep *Report, q Query) {
	out.Counts, out.Dropped = rep.Counts, rep.Dropped
	rows := rep.Rows
	if q.Severity != "" {
		rows = make([]Vuln, 0, rep.Counts[q.Severity])
		for _, v := range rep.Rows {
			if v.Severity == q.Severity {
				rows = append(rows, v)
			}
		}
	}
	out.Matching = len(rows)
	out.Pages = max((len(rows)+s.opts.PageSize-1)/s.opts.PageSize, 1)
	out.Page = min(max(q.Page, 1), out.Pages)
	start := (out.Page - 1) * s.opts.PageSize
	out.Rows = rows[start:min(start+s.opts.PageSize, len(rows))]
}

// report reads and parses a record's report, once for concurrent modals,
// kept by CID (reports are immutable). The read runs detached from the
// visitor who started it (bounded by callTimeout), so the others waiting
// on it do not fail when that one leaves. A failure is kept too: one that
// is the report's own (not a report, too large, not its CID's bytes) for
// RecordTTL, any other for DownTTL, so a hostile report is not fetched and
// parsed again on every view.
func (s *Service) report(ctx context.Context, did syntax.DID, rec *atcr.HoldScan) (*Report, error) {
	key := reportKey{did, rec.VulnReportBlob.Ref.String()}
	if r, ok := s.reports.Get(key); ok {
		return r, nil
	}
	if err, ok := s.failedReports.Get(key); ok {
		return nil, err
	}
	v, err, _ := s.flight.Do(string(key.hold)+" "+key.cid, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
		defer cancel()
		rep, err := s.readReport(ctx, did, rec)
		if err != nil {
			ttl := s.opts.DownTTL
			if errors.Is(err, errNotReport) || errors.Is(err, holdclient.ErrReportTooLarge) ||
				errors.Is(err, holdclient.ErrInvalidRecord) || errors.Is(err, holdclient.ErrCIDMismatch) {
				ttl = s.opts.RecordTTL
			}
			s.failedReports.SetFor(key, err, ttl)
			return nil, err
		}
		s.reports.Add(key, rep)
		return rep, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*Report), nil
}

// readReport fetches and parses a report, its rows bounded so that the
// parsed report fits the cache's share of one entry.
func (s *Service) readReport(ctx context.Context, did syntax.DID, rec *atcr.HoldScan) (*Report, error) {
	h, err := s.holds.Hold(ctx, did, "")
	if err != nil {
		return nil, err
	}
	body, err := s.holds.ScanReport(ctx, h, rec.VulnReportBlob, s.opts.MaxReportBytes)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	rep, err := ParseReport(body, Limits{MaxRows: s.opts.MaxRows, MaxBytes: s.reportBytes()})
	if err != nil {
		return nil, err
	}
	// Read to the end, so the bytes are checked against their CID.
	if _, err := io.Copy(io.Discard, body); err != nil {
		return nil, err
	}
	return rep, nil
}

// reportBytes is the most a parsed report's rows may take: the cache
// keeps no entry over an eighth of its bound (bytecache), and a report it
// cannot keep would be fetched and parsed again on every view.
func (s *Service) reportBytes() int64 {
	return max(s.opts.CacheBytes/8-reportKeyBytes, rowOverhead)
}

// reportKeyBytes is what a report's key may take in the cache (a hold DID
// and a CID).
const reportKeyBytes = 4 << 10
