package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"atcr.io/cmd/docker-credential-atcr/internal/authclient"
	"atcr.io/cmd/docker-credential-atcr/internal/browser"
	"atcr.io/cmd/docker-credential-atcr/internal/credstore"
	"atcr.io/cmd/docker-credential-atcr/internal/dockerconfig"
	"atcr.io/cmd/docker-credential-atcr/internal/serverurl"
)

type loginOptions struct {
	insecure  bool
	noBrowser bool
}

func loginCommand(env *Env) *cobra.Command {
	var opts loginOptions
	cmd := &cobra.Command{
		Use:   "login [registry]",
		Short: "Sign in to a registry in the browser and store the device credentials",
		Long: `Starts a device login: prints a URL and a code, opens the browser when
there is one, and waits until you approve the code while signed in to the
registry's web UI. The registry then issues a secret for this device, which
is stored as an account in the credentials file.

The registry defaults to ` + defaultRegistry + `. A bare host means https://host, except
localhost, 127.0.0.1 and [::1], which mean http. --insecure forces http.`,
		Example: `  docker-credential-atcr login
  docker-credential-atcr login atcr.io
  docker-credential-atcr login 127.0.0.1:5000
  docker-credential-atcr login --no-browser https://registry.example.org`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			registry := defaultRegistry
			if len(args) == 1 {
				registry = args[0]
			}
			return runLogin(cmd.Context(), env, registry, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.insecure, "insecure", false, "talk plain http to the registry (never use over a network you do not trust)")
	cmd.Flags().BoolVar(&opts.noBrowser, "no-browser", false, "only print the URL; do not try to open a browser")
	return cmd
}

func runLogin(ctx context.Context, env *Env, registry string, opts loginOptions) error {
	key, err := serverurl.Key(registry)
	if err != nil {
		return err
	}
	base, err := serverurl.BaseURL(registry, opts.insecure)
	if err != nil {
		return err
	}
	store, err := env.store()
	if err != nil {
		return err
	}
	// Fail before the user approves anything if the file cannot be used.
	if _, err := store.Load(); err != nil {
		return err
	}
	httpClient, err := env.httpClient()
	if err != nil {
		return err
	}
	client := &authclient.Client{BaseURL: base, HTTP: httpClient, UserAgent: userAgent(), Sleep: env.Sleep, Now: env.Now}

	code, err := client.RequestDeviceCode(ctx, clientName(env))
	if err != nil {
		return fmt.Errorf("login to %s: %w", base, err)
	}
	printCode(env, key, code)
	if !opts.noBrowser && env.OpenBrowser != nil {
		if err := env.OpenBrowser(code.BrowserURL()); err == nil {
			fmt.Fprintln(env.Stdout, "Opened your browser.")
		} else if !errors.Is(err, browser.ErrNoBrowser) {
			fmt.Fprintf(env.Stdout, "(Could not open a browser: %v)\n", err)
		}
	}
	fmt.Fprintln(env.Stdout, "Waiting for approval (Ctrl-C to cancel)...")

	tok, err := client.PollDeviceToken(ctx, code)
	switch {
	case errors.Is(err, authclient.ErrExpired):
		return fmt.Errorf("%w; run `%s login %s` again", err, binaryName, registry)
	case errors.Is(err, authclient.ErrDenied):
		return fmt.Errorf("%w; nothing was stored", err)
	case errors.Is(err, context.Canceled):
		return errors.New("login cancelled; nothing was stored")
	case err != nil:
		return fmt.Errorf("login to %s: %w", base, err)
	}

	account := credstore.Account{
		Handle: tok.Handle, DID: tok.DID, Secret: tok.DeviceSecret, DeviceID: tok.DeviceID,
		Added: env.now().UTC(), Source: credstore.SourceDevice,
	}
	// Reload: minutes passed while the user approved, and `docker login`
	// or another login may have written the file meanwhile.
	f, err := store.Load()
	if err != nil {
		return err
	}
	reg := f.EnsureRegistry(key, base.String())
	reg.Put(account)
	if err := store.Save(f); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Logged in to %s as %s.\n", key, account.Label())
	if n := len(reg.Accounts); n > 1 {
		fmt.Fprintf(env.Stdout, "It is now the active account of %d for %s (`%s switch` changes that; image names pick the account too).\n", n, key, binaryName)
	}
	hintConfigureDocker(env, key)
	return nil
}

func printCode(env *Env, key string, code *authclient.DeviceCode) {
	expires := time.Duration(code.ExpiresIn) * time.Second
	fmt.Fprintf(env.Stdout, "To sign in to %s, open\n\n    %s\n\n", key, code.BrowserURL())
	if code.VerificationURIComplete != "" {
		fmt.Fprintf(env.Stdout, "and check that the page shows the code  %s\n", code.UserCode)
	} else {
		fmt.Fprintf(env.Stdout, "and enter the code  %s\n", code.UserCode)
	}
	if expires > 0 {
		fmt.Fprintf(env.Stdout, "The code expires in %s.\n", expires.Round(time.Second))
	}
}

// clientName tells the user which machine a device in their /settings list is.
func clientName(env *Env) string {
	host := "unknown host"
	if env.Hostname != nil {
		if h, err := env.Hostname(); err == nil && h != "" {
			host = h
		}
	}
	return binaryName + " on " + host
}

// hintConfigureDocker prints the next step when Docker does not yet route
// the registry to this helper.
func hintConfigureDocker(env *Env, key string) {
	path, err := env.dockerConfigPath()
	if err != nil {
		return
	}
	if h, err := dockerconfig.CredHelper(path, key); err == nil && h == dockerconfig.HelperName {
		return
	}
	fmt.Fprintf(env.Stdout, "Docker does not use this helper for %s yet; run:\n    %s configure-docker %s\n", key, binaryName, key)
}
