package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"atcr.io/cmd/docker-credential-atcr/internal/credstore"
)

func switchCommand(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "switch [registry] [account]",
		Short: "Choose the active account of a registry",
		Long: `Sets the account Docker gets when the image name does not pick one.
With two accounts and no account named, switch toggles to the other one; with
more, it asks (when run in a terminal) or wants the account named.
Without a registry the only registry you are logged in to is used.`,
		Example: `  docker-credential-atcr switch
  docker-credential-atcr switch bob.bsky.social
  docker-credential-atcr switch atcr.io did:plc:ewvi7nxzyoun6zhxrhs64oiz`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSwitch(env, args)
		},
	}
}

func runSwitch(env *Env, args []string) error {
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
	reg := t.reg
	choice := t.account
	if choice < 0 {
		switch n := len(reg.Accounts); {
		case n == 1:
			fmt.Fprintf(env.Stdout, "%s is the only account for %s; nothing to switch.\n", reg.Accounts[0].Label(), t.key)
			return nil
		case n == 2:
			choice = 1 - reg.ActiveIndex()
		case env.StdinIsTerminal:
			if choice, err = pickAccount(env, t.key, reg); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%d accounts for %s (%s); name one: %s switch %s <account>", n, t.key, accountList(reg), binaryName, t.key)
		}
	}
	reg.SetActive(choice)
	if err := store.Save(f); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Active account for %s: %s\n", t.key, reg.Accounts[choice].Label())
	return nil
}

// pickAccount shows a numbered list and reads the choice from stdin.
func pickAccount(env *Env, key string, reg *credstore.Registry) (int, error) {
	fmt.Fprintf(env.Stdout, "Accounts for %s:\n", key)
	for i, a := range reg.Accounts {
		mark := " "
		if reg.IsActive(i) {
			mark = "*"
		}
		fmt.Fprintf(env.Stdout, "  %s %d) %s\n", mark, i+1, a.Label())
	}
	fmt.Fprintf(env.Stdout, "Make active [1-%d]: ", len(reg.Accounts))
	line, err := bufio.NewReader(io.LimitReader(env.Stdin, 1024)).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return 0, fmt.Errorf("no choice read: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || n < 1 || n > len(reg.Accounts) {
		return 0, fmt.Errorf("%q is not a number from 1 to %d", strings.TrimSpace(line), len(reg.Accounts))
	}
	return n - 1, nil
}
