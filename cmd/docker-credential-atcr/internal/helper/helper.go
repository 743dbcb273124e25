package helper

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"github.com/docker/docker-credential-helpers/credentials"

	"atcr.io/cmd/docker-credential-atcr/internal/credstore"
	"atcr.io/cmd/docker-credential-atcr/internal/parentref"
	"atcr.io/cmd/docker-credential-atcr/internal/serverurl"
)

// BinaryName is the program name Docker runs for `"credHelpers": {...: "atcr"}`.
const BinaryName = "docker-credential-atcr"

// maxUsername bounds a stored user name (handles are at most 253 bytes).
const maxUsername = 512

// Helper implements credentials.Helper.
type Helper struct {
	Store credstore.Store
	// Cmdline reads the parent's command line; nil means "never look".
	Cmdline parentref.Reader
	Now     func() time.Time
	// Notices receives hints for people (Docker shows a helper's stderr).
	Notices io.Writer
	// Debug, when non-nil, receives a line explaining every choice of account.
	Debug io.Writer
}

var _ credentials.Helper = (*Helper)(nil)

// Get returns the user name and secret for serverURL.
func (h *Helper) Get(serverURL string) (string, string, error) {
	key, err := serverurl.Key(serverURL)
	if err != nil {
		return "", "", err
	}
	f, err := h.Store.Load()
	if err != nil {
		return "", "", err
	}
	reg := f.Registry(key)
	if reg == nil || len(reg.Accounts) == 0 {
		h.notice("%s: no account for %s; run `%s login %s`\n", BinaryName, key, BinaryName, key)
		return "", "", credentials.NewErrCredentialsNotFound()
	}
	a := h.choose(reg, key)
	return a.Username(), a.Secret, nil
}

// choose picks the account the parent's image reference names (the last
// such reference wins: `crane copy src dst` writes to dst), else the active one.
func (h *Helper) choose(reg *credstore.Registry, key string) credstore.Account {
	active, _ := reg.ActiveAccount()
	if len(reg.Accounts) == 1 || h.Cmdline == nil {
		return active
	}
	args, err := h.Cmdline()
	if err != nil {
		h.debug("%s: cannot read the parent's command line (%v); using the active account %s\n", BinaryName, err, active.Label())
		return active
	}
	idents := parentref.Identities(args, key)
	for i := len(idents) - 1; i >= 0; i-- {
		if j := reg.Find(idents[i]); j >= 0 {
			h.debug("%s: using %s for %s (named by the image reference)\n", BinaryName, reg.Accounts[j].Label(), key)
			return reg.Accounts[j]
		}
	}
	h.debug("%s: using the active account %s for %s (no reference to a known account among %q)\n", BinaryName, active.Label(), key, idents)
	return active
}

// Add stores credentials from `docker login` as an account and makes it active.
func (h *Helper) Add(c *credentials.Credentials) error {
	key, err := serverurl.Key(c.ServerURL)
	if err != nil {
		return err
	}
	username := strings.TrimPrefix(strings.TrimSpace(c.Username), "@")
	if !validField(username, maxUsername) {
		return fmt.Errorf("user name %q is not a handle or DID", c.Username)
	}
	if c.Secret == "" {
		return errors.New("no secret in the credentials")
	}
	f, err := h.Store.Load()
	if err != nil {
		return err
	}
	reg := f.EnsureRegistry(key, "")
	if reg.URL == "" {
		reg.URL = baseURLFor(c.ServerURL, key)
	}
	// `docker login` re-stores credentials it just read back from `get`;
	// the account (device id, source) is then kept as it is.
	if i := reg.Find(username); i >= 0 && reg.Accounts[i].Secret == c.Secret {
		reg.SetActive(i)
		return h.Store.Save(f)
	}
	a := credstore.Account{Secret: c.Secret, Added: h.now().UTC(), Source: credstore.SourceDockerLogin}
	if strings.HasPrefix(username, "did:") {
		a.DID = username
	} else {
		a.Handle = username
	}
	reg.Put(a)
	return h.Store.Save(f)
}

// Delete removes every account of the registry: after `docker logout` the
// registry must answer "not found". Deleting a registry with no accounts
// succeeds, as the pass and wincred helpers do, so `docker logout` does not
// print a warning for it.
func (h *Helper) Delete(serverURL string) error {
	key, err := serverurl.Key(serverURL)
	if err != nil {
		return err
	}
	f, err := h.Store.Load()
	if err != nil {
		return err
	}
	reg := f.Registry(key)
	if reg == nil {
		return nil
	}
	n := len(reg.Accounts)
	delete(f.Registries, key)
	if err := h.Store.Save(f); err != nil {
		return err
	}
	h.notice("%s: removed %d account(s) for %s; to revoke the device secrets too, use %s/settings\n",
		BinaryName, n, key, strings.TrimSuffix(reg.URL, "/"))
	return nil
}

// List maps every registry key to its active account's user name.
func (h *Helper) List() (map[string]string, error) {
	f, err := h.Store.Load()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for key, reg := range f.Registries {
		if a, ok := reg.ActiveAccount(); ok {
			out[key] = a.Username()
		}
	}
	return out, nil
}

// baseURLFor keeps an explicit http:// from Docker (an insecure registry the
// user configured in the daemon) and otherwise applies the default rule.
func baseURLFor(serverURL, key string) string {
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(serverURL)), "http://") {
		return "http://" + key
	}
	u, err := serverurl.BaseURL(key, false)
	if err != nil {
		return "https://" + key
	}
	return u.String()
}

func (h *Helper) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Helper) notice(format string, args ...any) {
	if h.Notices != nil {
		fmt.Fprintf(h.Notices, format, args...)
	}
}

func (h *Helper) debug(format string, args ...any) {
	if h.Debug != nil {
		fmt.Fprintf(h.Debug, format, args...)
	}
}

// validField accepts non-empty printable ASCII without spaces, up to max bytes.
func validField(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, r := range s {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) || r == ' ' {
			return false
		}
	}
	return true
}
