package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"atcr.io/cmd/docker-credential-atcr/internal/dockerconfig"
	"atcr.io/cmd/docker-credential-atcr/internal/serverurl"
)

func configureDockerCommand(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "configure-docker [registry]",
		Short: "Make Docker use this helper for a registry (edits config.json)",
		Long: `Adds "credHelpers": {"<registry>": "atcr"} to Docker's config.json
($DOCKER_CONFIG/config.json, else ~/.docker/config.json), keeping every other
setting. The registry defaults to ` + defaultRegistry + `.`,
		Example: `  docker-credential-atcr configure-docker
  docker-credential-atcr configure-docker 127.0.0.1:5000`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			registry := defaultRegistry
			if len(args) == 1 {
				registry = args[0]
			}
			return runConfigureDocker(env, registry)
		},
	}
}

func runConfigureDocker(env *Env, registry string) error {
	key, err := serverurl.Key(registry)
	if err != nil {
		return err
	}
	path, err := env.dockerConfigPath()
	if err != nil {
		return err
	}
	res, err := dockerconfig.SetCredHelper(path, key, dockerconfig.HelperName)
	if err != nil {
		return err
	}
	switch {
	case !res.Changed:
		fmt.Fprintf(env.Stdout, "Docker already uses %s for %s (%s).\n", binaryName, key, path)
	case res.Previous != "":
		fmt.Fprintf(env.Stdout, "Docker now uses %s for %s instead of docker-credential-%s (%s).\n", binaryName, key, res.Previous, path)
	default:
		fmt.Fprintf(env.Stdout, "Docker now uses %s for %s (%s).\n", binaryName, key, path)
	}
	if env.LookPath != nil {
		if _, err := env.LookPath(binaryName); err != nil {
			fmt.Fprintf(env.Stderr, "warning: %s is not on PATH, so Docker cannot run it; install it as %s in a PATH directory\n", binaryName, binaryName)
		}
	}
	return nil
}
