package main

import (
	"context"
	"log/slog"

	"atcr.io/pkg/config"
	"atcr.io/pkg/hold/scan"
)

// newScanner returns the scanning engine the in-process workers use. This
// build has no engine: every job is recorded as skipped, which is the
// truth for a hold without a vulnerability database. The Grype engine
// replaces this file.
func newScanner(cfg *config.HoldConfig, log *slog.Logger) (scan.Scanner, error) {
	log.Warn("Vulnerability scanning is off: this hold has no vulnerability database; pushed images are recorded as skipped",
		"db_dir", cfg.Scanner.DBDir)
	return noDatabase{}, nil
}

// noDatabase records every image as skipped.
type noDatabase struct{}

// noDatabaseReason is the statusReason of its records.
const noDatabaseReason = "no vulnerability database"

func (noDatabase) Scan(context.Context, scan.Image, scan.Blobs) (scan.Result, error) {
	return scan.Result{Status: scan.StatusSkipped, Reason: noDatabaseReason, ScannerVersion: "none"}, nil
}
