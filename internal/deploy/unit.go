package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"atcr.io/internal/deploy/textdiff"
)

// syncServiceUnit brings one unit to its template: it compares the unit
// file on the server with u, writes it when different, runs `systemctl
// daemon-reload` and restarts the unit — also when only configs (the
// unit's config changes, already written) changed. A new unit is enabled
// first. When the restart fails, the unit file and configs are put back,
// systemd reloaded and the previous unit restarted, and the error says so.
// In a dry run it prints the diff and what it would run.
func syncServiceUnit(ctx context.Context, r Remote, u UnitFile, configs []*change, o Options) error {
	p := o.Root + UnitDir + "/" + u.Name
	cur, exists, err := r.ReadFile(ctx, p)
	if err != nil {
		return fmt.Errorf("unit %s: %w", u.Name, err)
	}
	var unit *change
	if !exists || !bytes.Equal(cur, u.Text) {
		unit = &change{path: p, old: cur, existed: exists, new: u.Text, mode: 0o644}
		state := "differs from the template"
		if !exists {
			state = "not installed"
		}
		o.printf("unit %s: %s\n%s", u.Name, state, textdiff.Unified(p, p+" (new)", cur, u.Text))
	} else {
		o.printf("unit %s: up to date\n", u.Name)
	}
	if unit == nil && len(configs) == 0 {
		return nil
	}
	if o.DryRun {
		if unit != nil {
			o.printf("unit %s: would write it, run systemctl daemon-reload and restart %s\n", u.Name, u.Name)
		} else {
			o.printf("unit %s: would restart it (its config changed)\n", u.Name)
		}
		return nil
	}
	if unit != nil {
		if err := unit.apply(ctx, r); err != nil {
			return errors.Join(fmt.Errorf("unit %s: %w", u.Name, err), rollback(ctx, r, u.Name, nil, configs, o))
		}
		if _, err := r.Run(ctx, "systemctl", "daemon-reload"); err != nil {
			return errors.Join(fmt.Errorf("unit %s: systemctl daemon-reload: %w", u.Name, err), rollback(ctx, r, u.Name, unit, configs, o))
		}
		if !exists {
			if out, err := r.Run(ctx, "systemctl", "enable", u.Name); err != nil {
				return errors.Join(fmt.Errorf("unit %s: systemctl enable: %w: %s", u.Name, err, out), rollback(ctx, r, u.Name, unit, configs, o))
			}
		}
	}
	out, err := r.Run(ctx, "systemctl", "restart", u.Name)
	if err != nil {
		o.printf("unit %s: restart FAILED: %v\n%s\n", u.Name, err, out)
		what := "the previous unit file"
		switch {
		case unit == nil:
			what = "the previous config"
		case len(configs) > 0:
			what = "the previous unit file and config"
		}
		return errors.Join(fmt.Errorf("unit %s: restart failed (%w: %s); rolled back to %s", u.Name, err, firstLine(out), what), rollback(ctx, r, u.Name, unit, configs, o))
	}
	what := "config changed"
	if unit != nil {
		what = "unit written, systemd reloaded"
	}
	o.printf("unit %s: %s, restarted\n", u.Name, what)
	return nil
}

// rollback puts back the unit file (when it was written) and configs,
// reloads systemd and restarts the previous unit; a unit the deploy
// installed is disabled and removed instead. Its error, if any, says what
// could not be put back.
func rollback(ctx context.Context, r Remote, name string, unit *change, configs []*change, o Options) error {
	var errs []error
	fresh := unit != nil && !unit.existed
	if fresh {
		// Disabled while its file (and [Install] section) is still there.
		if out, err := r.Run(ctx, "systemctl", "disable", name); err != nil {
			errs = append(errs, fmt.Errorf("rollback: systemctl disable %s: %w: %s", name, err, out))
		}
	}
	for _, c := range append([]*change{unit}, configs...) {
		if c == nil {
			continue
		}
		if err := c.revert(ctx, r); err != nil {
			errs = append(errs, fmt.Errorf("rollback: %w", err))
			continue
		}
		o.printf("rollback: %s restored\n", c.path)
	}
	if unit != nil {
		if _, err := r.Run(ctx, "systemctl", "daemon-reload"); err != nil {
			errs = append(errs, fmt.Errorf("rollback: systemctl daemon-reload: %w", err))
		}
		if fresh {
			o.printf("rollback: %s was new; disabled and removed\n", name)
			return errors.Join(errs...)
		}
	}
	if out, err := r.Run(ctx, "systemctl", "restart", name); err != nil {
		errs = append(errs, fmt.Errorf("rollback: the previous %s does not restart either: %w: %s", name, err, out))
	} else {
		o.printf("rollback: previous %s restarted\n", name)
	}
	return errors.Join(errs...)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
