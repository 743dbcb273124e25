package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func logoutCommand(env *Env) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "logout [registry] [account]",
		Short: "Remove an account (default: the active one) from this machine",
		Long: `Removes an account's credentials from this machine. Without an account
the registry's active account is removed; --all removes every account of the
registry. Without a registry the only registry you are logged in to is used.

This does not revoke the device secret on the registry: do that on the
registry's /settings page (for example https://atcr.io/settings).`,
		Example: `  docker-credential-atcr logout
  docker-credential-atcr logout atcr.io
  docker-credential-atcr logout atcr.io bob.bsky.social
  docker-credential-atcr logout bob.bsky.social
  docker-credential-atcr logout --all atcr.io`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLogout(env, args, all)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "remove every account of the registry")
	return cmd
}

func runLogout(env *Env, args []string, all bool) error {
	store, err := env.store()
	if err != nil {
		return err
	}
	f, err := store.Load()
	if err != nil {
		return err
	}
	t, err := resolveTarget(f, args)
	if err != nil {
		return err
	}
	var removed []string
	if all {
		for _, a := range t.reg.Accounts {
			removed = append(removed, a.Label())
		}
		t.reg.Accounts = nil
		t.reg.Active = ""
	} else {
		i := t.account
		if i < 0 {
			i = t.reg.ActiveIndex()
		}
		removed = append(removed, t.reg.Remove(i).Label())
	}
	if err := store.Save(f); err != nil {
		return err
	}
	for _, label := range removed {
		fmt.Fprintf(env.Stdout, "Removed %s from %s on this machine.\n", label, t.key)
	}
	if a, ok := t.reg.ActiveAccount(); ok {
		fmt.Fprintf(env.Stdout, "Active account for %s is now %s.\n", t.key, a.Label())
	}
	fmt.Fprintf(env.Stdout, "The device secret stays valid on the registry until you revoke it at %s\n", settingsURL(t.reg, t.key))
	return nil
}
