package main

import (
	"github.com/spf13/cobra"

	"atcr.io/internal/startup"
	"atcr.io/pkg/config"
)

func rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "atcr-hold",
		Short:         "ATCR hold: blob storage with an embedded ATProto PDS",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serveCommand(), gcCommand(), repoCommand(), scannerCommand(), startup.ConfigCommand(config.KindHold), startup.VersionCommand(),
		startup.HealthcheckCommand(func(path string) (string, error) {
			cfg, err := config.LoadHold(path)
			if err != nil {
				return "", err
			}
			return cfg.Server.Addr, nil
		}))
	return root
}

// configFlag adds the --config flag every command that reads the config has.
func configFlag(cmd *cobra.Command, path *string) {
	cmd.Flags().StringVar(path, "config", "", "YAML config file (see `atcr-hold config init`)")
}

func serveCommand() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the hold (defaults apply when no config file is given)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.LoadHold(configPath)
			if err != nil {
				return err
			}
			return runServe(cmd.Context(), cfg)
		},
	}
	configFlag(cmd, &configPath)
	return cmd
}

func gcCommand() *cobra.Command {
	var configPath string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Delete blobs no layer record references (the hold must be stopped)",
		Long: "Mark every digest the hold's io.atcr.hold.layer records reference, then delete the\n" +
			"blobs in the bucket that are not referenced and older than gc.grace_period.\n" +
			"The hold must be stopped; a running hold collects on gc.interval or on SIGUSR2.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.LoadHold(configPath)
			if err != nil {
				return err
			}
			return runGC(cmd.Context(), cmd.OutOrStdout(), cfg, dryRun)
		},
	}
	configFlag(cmd, &configPath)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "report what would be deleted, delete nothing")
	return cmd
}

func repoCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "repo", Short: "Back up and restore the hold's ATProto repository"}
	var exportConfig, importConfig string
	export := &cobra.Command{
		Use:   "export > FILE.car",
		Short: "Write the repository as a CAR file to stdout (works while the hold runs)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.LoadHold(exportConfig)
			if err != nil {
				return err
			}
			return runExport(cmd.Context(), cmd.OutOrStdout(), cfg)
		},
	}
	configFlag(export, &exportConfig)
	imp := &cobra.Command{
		Use:   "import FILE.car...",
		Short: "Write every record of the CAR files into the repository (the hold must be stopped)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.LoadHold(importConfig)
			if err != nil {
				return err
			}
			return runImport(cmd.Context(), cmd.OutOrStdout(), cfg, args)
		},
	}
	configFlag(imp, &importConfig)
	cmd.AddCommand(export, imp)
	return cmd
}
