package deploy

import (
	"context"
	"errors"
	"fmt"
)

// Deploy brings the server behind r to plan: config files first (created
// or given their new keys), then each unit through syncServiceUnit, which
// restarts the unit when it or one of its configs changed. A config file
// that cannot be parsed is reported and left alone (its unit is still
// synced, and not restarted for it); every other file is still handled. The error lists every
// failure; nil means the server matches the plan (or, in a dry run, that
// nothing failed).
func Deploy(ctx context.Context, r Remote, plan Plan, o Options) error {
	var errs []error
	changed := map[string][]*change{}
	for _, c := range plan.Configs {
		ch, err := syncConfig(ctx, r, c, o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ch == nil {
			continue
		}
		if !o.DryRun {
			if err := ch.apply(ctx, r); err != nil {
				errs = append(errs, fmt.Errorf("config %w", err))
				continue
			}
		}
		changed[c.Unit] = append(changed[c.Unit], ch)
	}
	for _, u := range plan.Units {
		if err := syncServiceUnit(ctx, r, u, changed[u.Name], o); err != nil {
			errs = append(errs, err)
		}
	}
	if o.DryRun {
		o.printf("dry run: nothing was changed\n")
	}
	return errors.Join(errs...)
}
