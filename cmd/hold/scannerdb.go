package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"atcr.io/internal/startup"
	"atcr.io/pkg/config"
	"atcr.io/pkg/hold/scan/vulndb"
)

// scannerCommand is `atcr-hold scanner`: the vulnerability database of the
// hold's scanner, and remote scan workers. The db commands work while the
// hold runs: a running hold picks up an imported database at its next scan.
func scannerCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "scanner", Short: "Manage the vulnerability scanner"}
	db := &cobra.Command{Use: "db", Short: "Manage the Grype vulnerability database (scanner.db_dir)"}

	var importConfig string
	imp := &cobra.Command{
		Use:   "import ARCHIVE",
		Short: "Install a Grype database archive (vulnerability-db_v6….tar.zst or .tar.gz) into scanner.db_dir",
		Long: "Install a Grype schema-6 database archive, as published at https://grype.anchore.io/databases\n" +
			"or built with grype-db, into scanner.db_dir with grype's own curator (a file that does\n" +
			"not open as a schema-6 database is refused and the current one stays). Holds without\n" +
			"internet are kept current this way. A running hold uses the new database from its next\n" +
			"scan on.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.LoadHold(importConfig)
			if err != nil {
				return err
			}
			return runScannerDBImport(cmd.Context(), cmd.OutOrStdout(), cfg, args[0])
		},
	}
	configFlag(imp, &importConfig)

	status := configuredCommand("status", "Show the vulnerability database: built when, schema, providers", runScannerDBStatus)
	update := configuredCommand("update", "Download a newer database from scanner.db_update_url (needs internet)", runScannerDBUpdate)
	db.AddCommand(imp, status, update)
	cmd.AddCommand(db, scanWorkerCommand())
	return cmd
}

// configuredCommand is a command without arguments that reads the hold's
// config and runs run with it.
func configuredCommand(use, short string, run func(context.Context, io.Writer, *config.HoldConfig) error) *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.LoadHold(configPath)
			if err != nil {
				return err
			}
			return run(cmd.Context(), cmd.OutOrStdout(), cfg)
		},
	}
	configFlag(cmd, &configPath)
	return cmd
}

// scannerDBDir is scanner.db_dir, or <server.data_dir>/vulndb when unset.
func scannerDBDir(cfg *config.HoldConfig) (string, error) {
	if err := absolutePaths(cfg); err != nil {
		return "", err
	}
	if cfg.Scanner.DBDir != "" {
		return filepath.Abs(cfg.Scanner.DBDir)
	}
	return filepath.Join(cfg.Server.DataDir, "vulndb"), nil
}

// scannerTempDir is scanner.temp_dir, or <server.data_dir>/scan-tmp when
// unset.
func scannerTempDir(cfg *config.HoldConfig) (string, error) {
	if err := absolutePaths(cfg); err != nil {
		return "", err
	}
	if cfg.Scanner.TempDir != "" {
		return filepath.Abs(cfg.Scanner.TempDir)
	}
	return filepath.Join(cfg.Server.DataDir, "scan-tmp"), nil
}

// openVulnDB opens the scanner's database directory and says at start-up,
// in one line, whether scanning has a database (serve calls it once).
func openVulnDB(ctx context.Context, logger *slog.Logger, cfg *config.HoldConfig) (*vulndb.DB, error) {
	db, err := openConfiguredDB(ctx, cfg)
	if err != nil {
		return nil, err
	}
	db.LogStatus(ctx, logger)
	return db, nil
}

// openConfiguredDB opens the database directory of the config.
func openConfiguredDB(ctx context.Context, cfg *config.HoldConfig) (*vulndb.DB, error) {
	dir, err := scannerDBDir(cfg)
	if err != nil {
		return nil, err
	}
	return vulndb.Open(ctx, dir)
}

// runScannerDBImport is `atcr-hold scanner db import`.
func runScannerDBImport(ctx context.Context, out io.Writer, cfg *config.HoldConfig, archive string) error {
	db, err := openConfiguredDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := db.Import(ctx, archive)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Imported %s into %s.\n", archive, db.Dir())
	printDBStatus(out, st)
	return nil
}

// runScannerDBUpdate is `atcr-hold scanner db update`.
func runScannerDBUpdate(ctx context.Context, out io.Writer, cfg *config.HoldConfig) error {
	if cfg.Scanner.DBUpdateURL == "" {
		return errors.New("scanner.db_update_url is not set: updates are off (import an archive with 'atcr-hold scanner db import')")
	}
	logger, err := startup.Logger(ctx, cfg.Log)
	if err != nil {
		return err
	}
	db, err := openConfiguredDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	updated, st, err := db.Update(ctx, cfg.Scanner.DBUpdateURL)
	if err != nil {
		return err
	}
	if updated {
		logger.Info("Vulnerability database updated", "built", st.Built.Format(time.RFC3339))
	} else {
		fmt.Fprintln(out, "The database is current.")
	}
	printDBStatus(out, st)
	return nil
}

// runScannerDBStatus is `atcr-hold scanner db status`.
func runScannerDBStatus(ctx context.Context, out io.Writer, cfg *config.HoldConfig) error {
	db, err := openConfiguredDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	printDBStatus(out, db.Status(ctx))
	return nil
}

// printDBStatus writes a database status for people.
func printDBStatus(w io.Writer, st vulndb.Status) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "directory\t%s\n", st.Dir)
	switch {
	case st.Present:
		fmt.Fprintf(tw, "database\t%s\n", st.Path)
		fmt.Fprintf(tw, "schema\t%s\n", st.Schema)
		fmt.Fprintf(tw, "built\t%s (%s ago)\n", st.Built.Format(time.RFC3339), time.Since(st.Built).Round(time.Minute))
		if st.From != "" {
			fmt.Fprintf(tw, "from\t%s\n", st.From)
		}
		ids := make([]string, 0, len(st.Providers))
		for _, p := range st.Providers {
			ids = append(ids, p.ID)
		}
		fmt.Fprintf(tw, "providers\t%d: %s\n", len(st.Providers), strings.Join(ids, ", "))
	case st.Err != nil:
		fmt.Fprintf(tw, "database\tcannot be opened: %v\n", st.Err)
		fmt.Fprintf(tw, "scanning\toff: scans are recorded as skipped\n")
	default:
		fmt.Fprintf(tw, "database\tnone\n")
		fmt.Fprintf(tw, "scanning\toff: scans are recorded as skipped (no vulnerability database); import one with 'atcr-hold scanner db import <archive>'\n")
	}
	_ = tw.Flush() // a failed write to the terminal leaves nothing to report to
}
