package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/docker/docker-credential-helpers/credentials"
	"github.com/spf13/cobra"

	"atcr.io/cmd/docker-credential-atcr/internal/helper"
)

// protocolCommands are the verbs Docker runs: input on stdin, answer on
// stdout, and on failure the error message on stdout with exit status 1 —
// Docker matches "credentials not found in native keychain" there.
func protocolCommands(env *Env) []*cobra.Command {
	verbs := []struct {
		name, short string
		readsStdin  bool
	}{
		{credentials.ActionGet, "Print the credentials for the registry read from stdin (run by Docker)", true},
		{credentials.ActionStore, "Store {ServerURL,Username,Secret} read from stdin (run by docker login)", true},
		{credentials.ActionErase, "Remove the accounts of the registry read from stdin (run by docker logout)", true},
		{credentials.ActionList, "Print {registry: user name} for every registry (run by Docker)", false},
	}
	cmds := make([]*cobra.Command, 0, len(verbs))
	for _, v := range verbs {
		cmds = append(cmds, &cobra.Command{
			Use:    v.name,
			Short:  v.short,
			Hidden: true,
			Args:   cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				if v.readsStdin && env.StdinIsTerminal {
					return fmt.Errorf("%s reads from stdin and is run by Docker; try: echo atcr.io | %s %s", v.name, binaryName, v.name)
				}
				return runProtocol(env, v.name)
			},
		})
	}
	return cmds
}

func runProtocol(env *Env, action string) error {
	store, err := env.store()
	if err != nil {
		return reportProtocol(env, err)
	}
	h := &helper.Helper{
		Store:   store,
		Cmdline: env.ParentCmdline,
		Now:     env.Now,
		Notices: env.Stderr,
	}
	if env.Getenv(DebugEnv) != "" {
		h.Debug = env.Stderr
	}
	in := io.LimitReader(env.Stdin, maxStdin)
	err = credentials.HandleCommand(h, action, in, env.Stdout)
	if err != nil && action == credentials.ActionStore && isJSONError(err) {
		err = fmt.Errorf(`malformed credentials on stdin: want {"ServerURL":"…","Username":"…","Secret":"…"}: %w`, err)
	}
	return reportProtocol(env, err)
}

// reportProtocol writes err to stdout, as the protocol wants, and marks it
// reported. The standard messages (not found, missing server URL, missing
// user name) are written verbatim: Docker compares them.
func reportProtocol(env *Env, err error) error {
	if err == nil {
		return nil
	}
	fmt.Fprintln(env.Stdout, err)
	return errReported
}

func isJSONError(err error) bool {
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	return errors.As(err, &syntaxErr) || errors.As(err, &typeErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
