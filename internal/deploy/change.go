package deploy

import (
	"context"
	"fmt"
	"io"
	"os"
)

// change is one file the deploy writes, with what it replaces.
type change struct {
	path    string
	old     []byte
	existed bool
	new     []byte
	mode    os.FileMode
	group   string
}

// apply writes the new content.
func (c *change) apply(ctx context.Context, r Remote) error {
	return r.WriteFile(ctx, c.path, c.new, c.mode, c.group)
}

// revert puts back what was there before: the old content, or no file.
func (c *change) revert(ctx context.Context, r Remote) error {
	if !c.existed {
		return r.Remove(ctx, c.path)
	}
	return r.WriteFile(ctx, c.path, c.old, c.mode, c.group)
}

// Options change how Deploy works.
type Options struct {
	// DryRun prints every diff and what would be restarted, and changes
	// nothing.
	DryRun bool
	// Root prefixes every path on the server (a staging tree; tests).
	Root string
	// Out receives the report.
	Out io.Writer
}

func (o Options) printf(format string, args ...any) {
	fmt.Fprintf(o.Out, format, args...)
}
