package main

import (
	"github.com/spf13/cobra"

	"atcr.io/internal/startup"
	"atcr.io/pkg/config"
)

func rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "atcr-appview",
		Short:         "ATCR AppView: the OCI registry API over ATProto",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serveCommand(), indexCommand(), startup.ConfigCommand(config.KindAppView), startup.VersionCommand(),
		startup.HealthcheckCommand(func(path string) (string, error) {
			cfg, err := config.LoadAppView(path)
			if err != nil {
				return "", err
			}
			return cfg.Server.Addr, nil
		}))
	return root
}

func serveCommand() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the AppView (defaults apply when no config file is given)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.LoadAppView(configPath)
			if err != nil {
				return err
			}
			return runServe(cmd.Context(), cfg)
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "YAML config file (see `atcr-appview config init`)")
	return cmd
}
