package credstore

import (
	"slices"
	"strings"
	"time"
)

// Account sources: how the secret got into the file.
const (
	SourceDevice      = "device"       // `docker-credential-atcr login` (device flow)
	SourceDockerLogin = "docker-login" // `docker login` through the store verb
)

// File is the whole credentials file.
type File struct {
	Version    int                  `json:"version"`
	Registries map[string]*Registry `json:"registries"`
}

// Registry is one registry's accounts. Active holds the ID of the account
// `get` answers with when the image reference does not pick one.
type Registry struct {
	URL      string    `json:"url"`
	Active   string    `json:"active,omitempty"`
	Accounts []Account `json:"accounts"`
}

// Account is one identity's credential for a registry. Handle or DID may be
// empty (a `docker login` with a DID as user name has no handle), never both.
type Account struct {
	Handle   string    `json:"handle,omitempty"`
	DID      string    `json:"did,omitempty"`
	Secret   string    `json:"secret"`
	DeviceID string    `json:"device_id,omitempty"`
	Added    time.Time `json:"added"`
	Source   string    `json:"source,omitempty"`
}

// ID names the account inside its registry: the DID when known (it never
// changes), else the lowercased handle.
func (a Account) ID() string {
	if a.DID != "" {
		return a.DID
	}
	return strings.ToLower(a.Handle)
}

// Username is what goes to the registry as the HTTP Basic user name: the
// handle when known, else the DID. The AppView accepts either.
func (a Account) Username() string {
	if a.Handle != "" {
		return a.Handle
	}
	return a.DID
}

// Label is the account's name for people: "handle (did)" or whichever is known.
func (a Account) Label() string {
	switch {
	case a.Handle != "" && a.DID != "":
		return a.Handle + " (" + a.DID + ")"
	case a.Handle != "":
		return a.Handle
	default:
		return a.DID
	}
}

// Matches reports whether name (a handle, with or without a leading "@", or a
// DID) names this account. Handles compare case-insensitively, DIDs exactly.
func (a Account) Matches(name string) bool {
	name = strings.TrimPrefix(strings.TrimSpace(name), "@")
	if name == "" {
		return false
	}
	if strings.HasPrefix(name, "did:") {
		return a.DID == name
	}
	return a.Handle != "" && strings.EqualFold(a.Handle, name)
}

// Registry returns the entry for key, or nil.
func (f *File) Registry(key string) *Registry {
	if f.Registries == nil {
		return nil
	}
	return f.Registries[key]
}

// EnsureRegistry returns the entry for key, creating it with baseURL when
// missing. An existing entry keeps its URL unless baseURL is non-empty.
func (f *File) EnsureRegistry(key, baseURL string) *Registry {
	if f.Registries == nil {
		f.Registries = map[string]*Registry{}
	}
	r := f.Registries[key]
	if r == nil {
		r = &Registry{}
		f.Registries[key] = r
	}
	if baseURL != "" {
		r.URL = baseURL
	}
	return r
}

// Keys returns the registry keys in sorted order.
func (f *File) Keys() []string {
	keys := make([]string, 0, len(f.Registries))
	for k := range f.Registries {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Find returns the index of the account name names, or -1.
func (r *Registry) Find(name string) int {
	return slices.IndexFunc(r.Accounts, func(a Account) bool { return a.Matches(name) })
}

// ActiveAccount returns the active account. When Active names no account
// (hand-edited file, or never set) the first account stands in.
func (r *Registry) ActiveAccount() (Account, bool) {
	if r == nil || len(r.Accounts) == 0 {
		return Account{}, false
	}
	return r.Accounts[r.ActiveIndex()], true
}

// ActiveIndex returns the index of the active account, -1 when there are
// no accounts.
func (r *Registry) ActiveIndex() int {
	if len(r.Accounts) == 0 {
		return -1
	}
	for i, a := range r.Accounts {
		if a.ID() == r.Active {
			return i
		}
	}
	return 0
}

// IsActive reports whether the account at index i is the active one.
func (r *Registry) IsActive(i int) bool {
	return len(r.Accounts) > 0 && r.ActiveIndex() == i
}

// Put adds a or replaces the account with the same DID or handle, and makes
// it active: a fresh login means "use this one now".
func (r *Registry) Put(a Account) {
	i := slices.IndexFunc(r.Accounts, func(old Account) bool {
		return (a.DID != "" && old.DID == a.DID) || (a.Handle != "" && old.Matches(a.Handle))
	})
	if i >= 0 {
		if a.DID == "" {
			a.DID = r.Accounts[i].DID // a docker login by handle keeps what the device flow learnt
		}
		r.Accounts[i] = a
	} else {
		r.Accounts = append(r.Accounts, a)
	}
	r.Active = a.ID()
}

// Remove deletes the account at index i. When it was active, the first
// remaining account becomes active.
func (r *Registry) Remove(i int) Account {
	wasActive := r.IsActive(i)
	removed := r.Accounts[i]
	r.Accounts = slices.Delete(r.Accounts, i, i+1)
	if wasActive {
		r.Active = ""
		if len(r.Accounts) > 0 {
			r.Active = r.Accounts[0].ID()
		}
	}
	return removed
}

// SetActive makes the account at index i active.
func (r *Registry) SetActive(i int) { r.Active = r.Accounts[i].ID() }
