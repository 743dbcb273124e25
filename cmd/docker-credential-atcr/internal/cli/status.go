package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"atcr.io/cmd/docker-credential-atcr/internal/authclient"
	"atcr.io/cmd/docker-credential-atcr/internal/credstore"
	"atcr.io/cmd/docker-credential-atcr/internal/dockerconfig"
	"atcr.io/cmd/docker-credential-atcr/internal/serverurl"
)

func statusCommand(env *Env) *cobra.Command {
	var check bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show registries, accounts and which one is active (never secrets)",
		Long: `Lists every registry and account in the credentials file, marks the
active account with *, and says whether Docker is configured to use this
helper for the registry. --check also asks each registry whether it still
accepts the account's secret (a revoked device shows as refused).`,
		Example: `  docker-credential-atcr status
  docker-credential-atcr status --check`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStatus(cmd.Context(), env, check)
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "verify each account against its registry's /auth/token")
	return cmd
}

func runStatus(ctx context.Context, env *Env, check bool) error {
	store, err := env.store()
	if err != nil {
		return err
	}
	f, err := store.Load()
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Credentials file: %s\n", store.Path)
	dockerPath, dockerErr := env.dockerConfigPath()
	if dockerErr == nil {
		fmt.Fprintf(env.Stdout, "Docker config:    %s\n", dockerPath)
	}
	if len(f.Registries) == 0 {
		fmt.Fprintf(env.Stdout, "\nNot logged in to any registry. Run `%s login <registry>`.\n", binaryName)
		return nil
	}
	var checker func(key string, reg *credstore.Registry, a credstore.Account) string
	if check {
		httpClient, err := env.httpClient()
		if err != nil {
			return err
		}
		checker = func(key string, reg *credstore.Registry, a credstore.Account) string {
			return checkAccount(ctx, httpClient, key, reg, a)
		}
	}
	for _, key := range f.Keys() {
		reg := f.Registry(key)
		docker := "Docker: not configured, run `" + binaryName + " configure-docker " + key + "`"
		if dockerErr == nil {
			if h, err := dockerconfig.CredHelper(dockerPath, key); err != nil {
				docker = "Docker: " + err.Error()
			} else if h == dockerconfig.HelperName {
				docker = "Docker: uses this helper"
			} else if h != "" {
				docker = fmt.Sprintf("Docker: uses docker-credential-%s, run `%s configure-docker %s`", h, binaryName, key)
			}
		}
		fmt.Fprintf(env.Stdout, "\n%s  (%s)\n  %s\n", key, reg.URL, docker)
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		for i, a := range reg.Accounts {
			mark := " "
			if reg.IsActive(i) {
				mark = "*"
			}
			line := fmt.Sprintf("  %s %s\t%s\t%s\tadded %s", mark, orDash(a.Handle), orDash(a.DID), source(a), added(a))
			if checker != nil {
				line += "\t" + checker(key, reg, a)
			}
			fmt.Fprintln(tw, line)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// checkAccount asks the registry at the URL recorded at login (which may be
// plain http if the user chose --insecure then).
func checkAccount(ctx context.Context, httpClient *http.Client, key string, reg *credstore.Registry, a credstore.Account) string {
	base, err := url.Parse(reg.URL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		if base, err = serverurl.BaseURL(key, false); err != nil {
			return "check failed: " + err.Error()
		}
	}
	client := &authclient.Client{BaseURL: base, HTTP: httpClient, UserAgent: userAgent()}
	err = client.CheckCredentials(ctx, a.Username(), a.Secret)
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, authclient.ErrUnauthorized):
		return "REFUSED (device revoked or secret wrong: log in again)"
	default:
		return "check failed: " + err.Error()
	}
}

func source(a credstore.Account) string {
	switch a.Source {
	case credstore.SourceDevice:
		if a.DeviceID != "" {
			return "device " + a.DeviceID
		}
		return "device"
	case credstore.SourceDockerLogin:
		return "docker login"
	default:
		return orDash(a.Source)
	}
}

func added(a credstore.Account) string {
	if a.Added.IsZero() {
		return "-"
	}
	return a.Added.Format("2006-01-02")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
