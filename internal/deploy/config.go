package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"atcr.io/internal/deploy/keysync"
	"atcr.io/internal/deploy/textdiff"
)

// syncConfig reads a config file on the server and works out its new text:
// the template for a missing file, the file with the template's new keys
// otherwise. It returns nil when nothing is to change, and an error naming
// file and line for a file it cannot parse (the file is left alone).
func syncConfig(ctx context.Context, r Remote, c ConfigFile, o Options) (*change, error) {
	p := o.Root + c.Path
	cur, exists, err := r.ReadFile(ctx, p)
	if err != nil {
		return nil, err
	}
	ch := &change{path: p, old: cur, existed: exists, mode: c.Mode, group: c.Group}
	if !exists {
		ch.new = c.Template
		verb := "created"
		if o.DryRun {
			verb = "would be created"
		}
		o.printf("config %s: missing, %s from the template (edit its values)\n", p, verb)
	} else {
		merge := keysync.MergeEnv
		if c.Format == FormatYAML {
			merge = keysync.MergeYAML
		}
		res, err := merge(p, cur, c.Template)
		var pe *keysync.ParseError
		if errors.As(err, &pe) {
			o.printf("config %s: NOT UPDATED, cannot parse it: %v\n", p, err)
			return nil, fmt.Errorf("config %w (left untouched)", err)
		}
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", p, err)
		}
		for _, s := range res.Skipped {
			o.printf("config %s: not added: %s\n", p, s)
		}
		if !res.Changed() {
			o.printf("config %s: up to date\n", p)
			return nil, nil
		}
		ch.new = res.Text
		verb := "adding"
		if o.DryRun {
			verb = "would add"
		}
		o.printf("config %s: %s %s (existing values and comments kept)\n", p, verb, strings.Join(res.Added, ", "))
	}
	o.printf("%s", textdiff.Unified(p, p+" (new)", ch.old, ch.new))
	return ch, nil
}
