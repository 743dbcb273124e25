package grypescan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/anchore/clio"
	"github.com/anchore/grype/grype"
	"github.com/anchore/grype/grype/distro"
	"github.com/anchore/grype/grype/matcher"
	"github.com/anchore/grype/grype/matcher/dpkg"
	"github.com/anchore/grype/grype/matcher/rpm"
	"github.com/anchore/grype/grype/matcher/stock"
	"github.com/anchore/grype/grype/pkg"
	grypejson "github.com/anchore/grype/grype/presenter/json"
	"github.com/anchore/grype/grype/presenter/models"
	"github.com/anchore/grype/grype/version"
	"github.com/anchore/grype/grype/vulnerability"
	"github.com/anchore/syft/syft"
	"github.com/anchore/syft/syft/cataloging"
	"github.com/anchore/syft/syft/cataloging/pkgcataloging"
	"github.com/anchore/syft/syft/format/spdxjson"
	"github.com/anchore/syft/syft/format/syftjson"
	"github.com/anchore/syft/syft/sbom"
	"github.com/anchore/syft/syft/source"
	"github.com/anchore/syft/syft/source/directorysource"

	"atcr.io/pkg/hold/scan"
	"atcr.io/pkg/hold/scan/vulndb"
)

// match catalogs rootDir with syft, matches the packages with grype and
// writes the report and the SBOM. It follows what `grype <image> -o json`
// does (the CLI's cataloger selection for images, its matcher defaults, its
// JSON model), so the report has the CLI's format and findings.
func (s *Scanner) match(ctx context.Context, jobDir, rootDir string, img scan.Image, h *vulndb.Handle) (scan.Result, error) {
	src, err := directorysource.New(directorysource.Config{
		Path:  rootDir,
		Base:  rootDir, // absolute symlinks resolve inside the image
		Alias: source.Alias{Name: img.Digest.String()},
	})
	if err != nil {
		return scan.Result{}, fmt.Errorf("syft source: %w", err)
	}
	defer src.Close()

	sb, err := syft.CreateSBOM(ctx, src, sbomConfig())
	if err != nil {
		if ctx.Err() != nil {
			return scan.Result{}, ctx.Err()
		}
		return scan.Result{}, fmt.Errorf("syft: %w", err)
	}

	packages, pkgCtx, err := grypePackages(jobDir, sb)
	if err != nil {
		return scan.Result{}, err
	}
	vm := grype.VulnerabilityMatcher{
		VulnerabilityProvider: h.Provider,
		Matchers:              matcher.NewDefaultMatchers(matcherConfig()),
	}
	remaining, ignored, err := vm.FindMatchesContext(ctx, packages, pkgCtx)
	if err != nil {
		if ctx.Err() != nil {
			return scan.Result{}, ctx.Err()
		}
		return scan.Result{}, fmt.Errorf("grype: %w", err)
	}
	status := h.Status
	doc, err := models.NewDocument(clio.Identification{Name: "grype", Version: vulndb.GrypeVersion()},
		packages, pkgCtx, *remaining, ignored, h.Provider, nil, dbInfo(&status, h.Provider),
		models.DefaultSortStrategy, true, nil)
	if err != nil {
		return scan.Result{}, fmt.Errorf("grype report: %w", err)
	}

	var res scan.Result
	res.Status = scan.StatusCompleted
	res.Counts = countSeverities(doc.Matches)
	if res.Report, err = encodeBounded("Grype report", func(w io.Writer) error {
		return encodeDocument(w, doc)
	}); err != nil {
		return scan.Result{}, err
	}
	enc, err := spdxjson.NewFormatEncoderWithConfig(spdxjson.DefaultEncoderConfig())
	if err != nil {
		return scan.Result{}, fmt.Errorf("spdx encoder: %w", err)
	}
	if res.SBOM, err = encodeBounded("SPDX SBOM", func(w io.Writer) error { return enc.Encode(w, *sb) }); err != nil {
		return scan.Result{}, err
	}
	return res, nil
}

// sbomConfig is the syft configuration grype's CLI uses, with the
// catalogers syft picks for container images (not the directory set, which
// would also report packages merely declared in manifests).
func sbomConfig() *syft.CreateSBOMConfig {
	cfg := syft.DefaultCreateSBOMConfig()
	cfg.Packages.Golang = cfg.Packages.Golang.WithCaptureSymbols(cataloging.SymbolScopeAll)
	cfg.Compliance.MissingVersion = cataloging.ComplianceActionDrop
	cfg = cfg.WithCatalogerSelection(cataloging.NewSelectionRequest().WithDefaults(pkgcataloging.ImageTag))
	// One cataloging goroutine: a scan is a background job, and the hold
	// serves pushes and pulls meanwhile.
	return cfg.WithParallelism(1)
}

// matcherConfig is the grype CLI's default matcher configuration.
func matcherConfig() matcher.Config {
	return matcher.Config{
		Stock: stock.MatcherConfig{UseCPEs: true},
		Dpkg:  dpkg.MatcherConfig{MissingEpochStrategy: version.MissingEpochStrategyZero},
		Rpm:   rpm.MatcherConfig{MissingEpochStrategy: version.MissingEpochStrategyAuto},
	}
}

// grypePackages turns syft's SBOM into grype's packages the way grype does
// for an SBOM input: through the syft JSON document (written to the job
// directory, not held in memory twice), which runs grype's own distro
// detection and overlap pruning.
func grypePackages(jobDir string, sb *sbom.SBOM) ([]pkg.Package, pkg.Context, error) {
	f, err := os.Create(filepath.Join(jobDir, "sbom.syft.json"))
	if err != nil {
		return nil, pkg.Context{}, fmt.Errorf("syft json: %w", err)
	}
	defer f.Close()
	if err := syftjson.NewFormatEncoder().Encode(f, *sb); err != nil {
		return nil, pkg.Context{}, fmt.Errorf("syft json: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, pkg.Context{}, fmt.Errorf("syft json: %w", err)
	}
	packages, pkgCtx, _, err := pkg.ProvideFromReader(f, pkg.ProviderConfig{
		SynthesisConfig: pkg.SynthesisConfig{Distro: pkg.DistroConfig{FixChannels: distro.DefaultFixChannels()}},
	})
	if err != nil {
		return nil, pkg.Context{}, fmt.Errorf("grype packages: %w", err)
	}
	// The document's source is the SBOM's (the image digest as alias).
	if sb.Source.ID != "" {
		src := sb.Source
		pkgCtx.Source = &src
	}
	return packages, pkgCtx, nil
}

// dbInfo is the descriptor.db block of grype's CLI report.
func dbInfo(status *vulnerability.ProviderStatus, vp vulnerability.Provider) any {
	providers := map[string]vulnerability.DataProvenance{}
	if dpr, ok := vp.(vulnerability.StoreMetadataProvider); ok {
		if dps, err := dpr.DataProvenance(); err == nil {
			providers = dps
		}
	}
	return struct {
		Status    *vulnerability.ProviderStatus           `json:"status"`
		Providers map[string]vulnerability.DataProvenance `json:"providers"`
	}{Status: status, Providers: providers}
}

// countSeverities counts the report's matches by severity.
func countSeverities(matches []models.Match) scan.Counts {
	var c scan.Counts
	for _, m := range matches {
		switch strings.ToLower(m.Vulnerability.Severity) {
		case "critical":
			c.Critical++
		case "high":
			c.High++
		case "medium":
			c.Medium++
		case "low":
			c.Low++
		}
		c.Total++
	}
	return c
}

// errTooLarge ends an encoder that went past scan.MaxDocument.
var errTooLarge = errors.New("document too large")

// boundedBuffer collects at most scan.MaxDocument bytes.
type boundedBuffer struct{ b []byte }

func (w *boundedBuffer) Write(p []byte) (int, error) {
	if len(w.b)+len(p) > scan.MaxDocument {
		return 0, errTooLarge
	}
	w.b = append(w.b, p...)
	return len(p), nil
}

// encodeBounded runs encode into memory, failing the scan (not the job)
// when the document outgrows what the record may carry.
func encodeBounded(what string, encode func(io.Writer) error) ([]byte, error) {
	var w boundedBuffer
	if err := encode(&w); err != nil {
		if errors.Is(err, errTooLarge) {
			return nil, hostile("the %s is larger than the %d MiB a scan record may carry", what, scan.MaxDocument>>20)
		}
		return nil, fmt.Errorf("encode the %s: %w", what, err)
	}
	return w.b, nil
}

// encodeDocument writes the report with grype's JSON presenter, as
// `grype -o json` does.
func encodeDocument(w io.Writer, doc models.Document) error {
	return grypejson.NewPresenter(models.PresenterConfig{Document: doc}).Present(w)
}
