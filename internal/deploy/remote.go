package deploy

import (
	"context"
	"os"
	"strings"
)

// Remote is the server as the deploy sees it: files and commands.
type Remote interface {
	// ReadFile returns a file's content; exists is false when there is no
	// file at path.
	ReadFile(ctx context.Context, path string) (content []byte, exists bool, err error)
	// WriteFile replaces path atomically (a temporary file renamed over
	// it). An existing file keeps its mode and owner; a new one gets mode
	// and, when group is not "", that group.
	WriteFile(ctx context.Context, path string, content []byte, mode os.FileMode, group string) error
	// Remove deletes path (a file the deploy created, on rollback).
	Remove(ctx context.Context, path string) error
	// Run runs a command (argv, quoted for the remote shell) and returns
	// its combined output.
	Run(ctx context.Context, argv ...string) (string, error)
}

// shellQuote quotes s for a POSIX shell (words of only safe characters
// stay as they are, so messages read like the command typed).
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%_+=:,./-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func shellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}
