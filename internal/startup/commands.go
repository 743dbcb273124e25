package startup

import (
	"fmt"

	"github.com/spf13/cobra"

	"atcr.io/pkg/config"
	"atcr.io/pkg/version"
)

// ConfigCommand is the `config` command of a binary whose config file is of
// the given kind: `config init FILE` writes a fully commented file with
// every key and its default, and refuses to overwrite an existing one.
func ConfigCommand(kind config.Kind) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Config file tools"}
	cmd.AddCommand(&cobra.Command{
		Use:   "init FILE",
		Short: "Write a fully commented config file with every key and its default",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := config.InitFile(args[0], kind); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "wrote", args[0])
			return nil
		},
	})
	return cmd
}

// VersionCommand is the `version` command: it prints pkg/version's string.
func VersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, args []string) {
			fmt.Fprintln(cmd.OutOrStdout(), version.String())
		},
	}
}
