package config

import (
	"errors"
	"reflect"
)

// lookupFunc reads one environment variable; os.LookupEnv in production.
type lookupFunc func(name string) (string, bool)

// applyEnv overrides every key whose `env` tag names a set, non-empty
// variable. Empty values count as unset so that `${VAR}` in a compose file
// does not wipe a default. All bad values are reported, each naming its
// variable.
func applyEnv(cfg any, lookup lookupFunc, src *sources) error {
	var errs []error
	err := walkFields(reflect.ValueOf(cfg).Elem(), func(f field) error {
		if f.section || f.env == "" {
			return nil
		}
		raw, ok := lookup(f.env)
		if !ok || raw == "" {
			return nil
		}
		if err := setFromString(f.value, raw); err != nil {
			errs = append(errs, &Error{Env: f.env, Key: f.path, Msg: f.path + ": " + err.Error()})
			return nil
		}
		src.env[f.path] = f.env
		return nil
	})
	if err != nil {
		return err
	}
	return errors.Join(errs...)
}
