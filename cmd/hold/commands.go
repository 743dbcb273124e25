package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"atcr.io/pkg/config"
	"atcr.io/pkg/version"
)

func rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "atcr-hold",
		Short:         "ATCR hold: blob storage with an embedded ATProto PDS",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serveCommand(), configCommand(), versionCommand())
	return root
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
	cmd.Flags().StringVar(&configPath, "config", "", "YAML config file (see `atcr-hold config init`)")
	return cmd
}

func configCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Config file tools"}
	cmd.AddCommand(&cobra.Command{
		Use:   "init FILE",
		Short: "Write a fully commented config file with every key and its default",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := config.InitFile(args[0], config.KindHold); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "wrote", args[0])
			return nil
		},
	})
	return cmd
}

func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, args []string) {
			fmt.Fprintln(cmd.OutOrStdout(), version.String())
		},
	}
}
