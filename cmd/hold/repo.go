package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"

	"atcr.io/internal/startup"
	"atcr.io/pkg/config"
)

// runExport is `atcr-hold repo export`: the repository as a CAR on out. It
// reads a consistent snapshot, so the hold may keep running.
func runExport(ctx context.Context, out io.Writer, cfg *config.HoldConfig) error {
	logger, err := startup.Logger(ctx, cfg.Log)
	if err != nil {
		return err
	}
	if err := absolutePaths(cfg); err != nil {
		return err
	}
	repo, err := openExistingRepo(ctx, logger, cfg)
	if err != nil {
		return err
	}
	defer closeLogged(logger, "repository", repo.Close)
	w := bufio.NewWriterSize(out, 1<<20)
	if err := repo.Export(ctx, w); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("export: write: %w", err)
	}
	logger.Info("Repository exported", "did", repo.DID())
	return nil
}

// runImport is `atcr-hold repo import`: every record of each CAR file is
// written into this hold's repository (created if the data directory is
// new) and signed with this hold's key. The hold must be stopped: its
// in-memory view of the repository would not see the imported records.
func runImport(ctx context.Context, out io.Writer, cfg *config.HoldConfig, files []string) error {
	logger, err := startup.Logger(ctx, cfg.Log)
	if err != nil {
		return err
	}
	lock, err := claimDataDir(cfg, "stop the hold before importing")
	if err != nil {
		return err
	}
	defer lock.unlock()
	repo, err := openRepo(ctx, logger, cfg, nil)
	if err != nil {
		return err
	}
	defer closeLogged(logger, "repository", repo.Close)
	for _, name := range files {
		if err := importFile(ctx, repo.Import, name); err != nil {
			return err
		}
		fmt.Fprintf(out, "imported %s into %s\n", name, repo.DID())
	}
	return nil
}

func importFile(ctx context.Context, imp func(context.Context, io.Reader) error, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	if err := imp(ctx, bufio.NewReaderSize(f, 1<<20)); err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}
	return nil
}
