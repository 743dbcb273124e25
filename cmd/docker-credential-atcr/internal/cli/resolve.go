package cli

import (
	"fmt"
	"strings"

	"atcr.io/cmd/docker-credential-atcr/internal/credstore"
	"atcr.io/cmd/docker-credential-atcr/internal/serverurl"
)

// target is what `logout` and `switch` act on: a registry and, when named,
// one of its accounts (account is -1 when none was named).
type target struct {
	key     string
	reg     *credstore.Registry
	account int
}

// resolveTarget reads "[registry] [account]". With no registry, the only
// registry in the file is meant. A single argument is a registry when the
// file has that registry, otherwise an account looked up in every registry.
func resolveTarget(f *credstore.File, args []string) (target, error) {
	switch len(args) {
	case 0:
		key, err := onlyRegistry(f)
		if err != nil {
			return target{}, err
		}
		return target{key: key, reg: f.Registry(key), account: -1}, nil
	case 1:
		if key, err := serverurl.Key(args[0]); err == nil && f.Registry(key) != nil {
			return target{key: key, reg: f.Registry(key), account: -1}, nil
		}
		return findAccount(f, args[0])
	default:
		key, err := serverurl.Key(args[0])
		if err != nil {
			return target{}, err
		}
		reg := f.Registry(key)
		if reg == nil {
			return target{}, fmt.Errorf("no accounts for %s", key)
		}
		i := reg.Find(args[1])
		if i < 0 {
			return target{}, fmt.Errorf("no account %q for %s; accounts: %s", args[1], key, accountList(reg))
		}
		return target{key: key, reg: reg, account: i}, nil
	}
}

func onlyRegistry(f *credstore.File) (string, error) {
	keys := f.Keys()
	switch len(keys) {
	case 0:
		return "", fmt.Errorf("not logged in to any registry; run `%s login <registry>`", binaryName)
	case 1:
		return keys[0], nil
	default:
		return "", fmt.Errorf("logged in to several registries (%s); name one", strings.Join(keys, ", "))
	}
}

func findAccount(f *credstore.File, name string) (target, error) {
	var found []target
	for _, key := range f.Keys() {
		if i := f.Registry(key).Find(name); i >= 0 {
			found = append(found, target{key: key, reg: f.Registry(key), account: i})
		}
	}
	switch len(found) {
	case 0:
		return target{}, fmt.Errorf("no registry or account named %q (see `%s status`)", name, binaryName)
	case 1:
		return found[0], nil
	default:
		keys := make([]string, len(found))
		for i, t := range found {
			keys[i] = t.key
		}
		return target{}, fmt.Errorf("account %q exists for several registries (%s); name the registry first", name, strings.Join(keys, ", "))
	}
}

func accountList(reg *credstore.Registry) string {
	names := make([]string, len(reg.Accounts))
	for i, a := range reg.Accounts {
		names[i] = a.Username()
	}
	return strings.Join(names, ", ")
}

// settingsURL is where devices are revoked.
func settingsURL(reg *credstore.Registry, key string) string {
	base := strings.TrimSuffix(reg.URL, "/")
	if base == "" {
		base = "https://" + key
	}
	return base + "/settings"
}
