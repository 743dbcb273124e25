package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"atcr.io/internal/startup"
	"atcr.io/pkg/appview/backfill"
	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/index"
	"atcr.io/pkg/atproto/directory"
	"atcr.io/pkg/atproto/safehttp"
	"atcr.io/pkg/config"
	"atcr.io/pkg/version"
)

// indexCommand is `atcr-appview index backfill|rebuild`: repairs of the UI
// index from the accounts' own repositories.
func indexCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "index",
		Short: "Repair the web UI's index from users' and holds' repositories (verified getRepo)",
	}
	var configPath string
	cmd.PersistentFlags().StringVar(&configPath, "config", "", "YAML config file (see `atcr-appview config init`)")
	cmd.AddCommand(&cobra.Command{
		Use:   "backfill <did|handle>...",
		Short: "Re-read the named accounts' repositories into the index",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runIndex(cmd.Context(), configPath, func(context.Context, *index.Store) ([]string, error) { return args, nil })
		},
	}, &cobra.Command{
		Use:   "rebuild",
		Short: "Re-read every account and hold the index knows",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runIndex(cmd.Context(), configPath, func(ctx context.Context, idx *index.Store) ([]string, error) {
				return idx.KnownDIDs(ctx)
			})
		},
	})
	return cmd
}

// runIndex backfills the accounts who names, one after the other. Every
// account is tried; the command fails if any of them did.
func runIndex(ctx context.Context, configPath string, who func(context.Context, *index.Store) ([]string, error)) error {
	cfg, err := config.LoadAppView(configPath)
	if err != nil {
		return err
	}
	ctx, stop := startup.SignalContext(ctx)
	defer stop()
	logger, err := startup.Logger(ctx, cfg.Log)
	if err != nil {
		return err
	}
	httpOpts, err := startup.GuardedHTTP(cfg.Identity, cfg.InsecureLocalDev)
	if err != nil {
		return err
	}
	httpOpts.UserAgent = "atcr-appview/" + version.String()
	httpClient := safehttp.New(httpOpts)
	dir, err := directory.New(directoryOptions(cfg, httpClient))
	if err != nil {
		return fmt.Errorf("identity directory: %w", err)
	}
	dataDir, err := filepath.Abs(cfg.Server.DataDir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	// The database the server uses (it may be running: SQLite's WAL lets
	// both write, one transaction at a time).
	database, err := db.OpenConfigured(ctx, cfg.Database.URL, filepath.Join(dataDir, dbFile))
	if err != nil {
		return err
	}
	defer database.Close()
	idx := index.New(database, index.Options{Logger: logger})
	defer idx.Close(context.WithoutCancel(ctx))
	bf, err := backfill.New(backfill.Options{Directory: dir, HTTPClient: httpClient, Index: idx, Logger: logger})
	if err != nil {
		return err
	}
	names, err := who(ctx, idx)
	if err != nil {
		return err
	}
	var failed []error
	for _, name := range names {
		res, err := bf.Account(ctx, name)
		if err != nil {
			logger.Error("Backfill failed", "account", name, "err", err)
			failed = append(failed, err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		logger.Info("Backfilled", "did", res.DID, "handle", res.Handle, "rev", res.Rev,
			"records", res.Records, "indexed", res.Indexed, "invalid", res.Invalid)
		fmt.Fprintf(os.Stdout, "%s\t%s\t%d records\t%d indexed\t%d invalid\n", res.DID, res.Handle, res.Records, res.Indexed, res.Invalid)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d accounts not backfilled: %w", len(failed), len(names), errors.Join(failed...))
	}
	return nil
}
