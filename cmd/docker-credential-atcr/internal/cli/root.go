package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"atcr.io/pkg/version"
)

// binaryName is how the helper calls itself in messages.
const binaryName = "docker-credential-atcr"

// defaultRegistry is what login and configure-docker use without an argument.
const defaultRegistry = "atcr.io"

// errReported marks an error that has already been written where it
// belongs (a protocol verb writes it to stdout for Docker); Run only sets
// the exit status.
var errReported = errors.New("reported")

// Run executes the command line args (without the program name) and
// returns the process exit status.
func Run(ctx context.Context, env *Env, args []string) int {
	root := rootCommand(env)
	root.SetArgs(args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	if !errors.Is(err, errReported) {
		fmt.Fprintf(env.Stderr, "%s: %v\n", binaryName, err)
	}
	return 1
}

func rootCommand(env *Env) *cobra.Command {
	root := &cobra.Command{
		Use:   binaryName,
		Short: "Docker credential helper for ATCR registries",
		Long: `docker-credential-atcr logs you in to an ATCR registry from the browser
(device login: no app password to copy) and hands the credentials to Docker,
crane, oras and friends through Docker's credential-helper protocol.

  docker-credential-atcr login atcr.io            sign in (opens the browser)
  docker-credential-atcr configure-docker atcr.io  make Docker use this helper
  docker push atcr.io/<your-handle>/app:1

Docker itself runs the hidden verbs get, store, erase and list.`,
		Version:       version.String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetVersionTemplate(binaryName + " {{.Version}}\n")
	root.AddCommand(
		loginCommand(env), logoutCommand(env), statusCommand(env), switchCommand(env),
		configureDockerCommand(env), versionCommand(env),
	)
	root.AddCommand(protocolCommands(env)...)
	return root
}

func versionCommand(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintf(env.Stdout, "%s %s\n", binaryName, version.String())
			return err
		},
	}
}
