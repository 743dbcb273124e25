package main

import (
	"context"
	"errors"
	"os"

	"github.com/spf13/cobra"

	"atcr.io/internal/startup"
	"atcr.io/pkg/config"
	"atcr.io/pkg/hold/scan/remote"
)

// scanWorkerCommand is `atcr-hold scanner worker`: a scan worker of its own
// (another machine's CPU and disk) that takes jobs from a hold over
// io.atcr.hold.subscribeScanJobs. The hold and secret come from flags or,
// as for the original ATCR's scanner, SCANNER_HOLD_URL and
// SCANNER_SHARED_SECRET; the database and limits from the scanner section
// of the config (scanner.db_dir, temp_dir, max_temp_disk, max_files,
// job_timeout).
func scanWorkerCommand() *cobra.Command {
	var configPath, holdURL, secret, name string
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Scan a hold's images from this machine (remote worker over io.atcr.hold.subscribeScanJobs)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.LoadHold(configPath)
			if err != nil {
				return err
			}
			if holdURL == "" || secret == "" {
				return errors.New("the hold's URL and scanner secret are required: --hold and --secret, or SCANNER_HOLD_URL and SCANNER_SHARED_SECRET")
			}
			return runScanWorker(cmd.Context(), cfg, holdURL, secret, name)
		},
	}
	configFlag(cmd, &configPath)
	cmd.Flags().StringVar(&holdURL, "hold", os.Getenv("SCANNER_HOLD_URL"), "the hold's URL, https://hold.example.com (env SCANNER_HOLD_URL)")
	cmd.Flags().StringVar(&secret, "secret", os.Getenv("SCANNER_SHARED_SECRET"), "the hold's scanner.worker_secret (env SCANNER_SHARED_SECRET; prefer the environment: flags show in ps)")
	cmd.Flags().StringVar(&name, "name", os.Getenv("SCANNER_WORKER_NAME"), "this worker's name, unique per hold (env SCANNER_WORKER_NAME; default the host name)")
	return cmd
}

// runScanWorker scans the hold's jobs until ctx ends.
func runScanWorker(ctx context.Context, cfg *config.HoldConfig, holdURL, secret, name string) error {
	logger, err := startup.Logger(ctx, cfg.Log)
	if err != nil {
		return err
	}
	engine, err := newScanEngine(ctx, logger, cfg)
	if err != nil {
		return err
	}
	defer closeLogged(logger, "vulnerability database", engine.close)
	logger.Info("Scan worker starting", "hold", holdURL, "name", name)
	return remote.RunWorker(ctx, remote.WorkerOptions{
		HoldURL: holdURL, Secret: secret, Name: name,
		Scanner: engine.scanner, JobTimeout: cfg.Scanner.JobTimeout, Logger: logger,
	})
}
