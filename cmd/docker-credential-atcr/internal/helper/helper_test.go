package helper

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker-credential-helpers/credentials"

	"atcr.io/cmd/docker-credential-atcr/internal/credstore"
)

func newHelper(t *testing.T, cmdline ...string) (*Helper, *bytes.Buffer) {
	t.Helper()
	notices := &bytes.Buffer{}
	return &Helper{
		Store:   credstore.Store{Path: filepath.Join(t.TempDir(), "creds.json")},
		Cmdline: func() ([]string, error) { return cmdline, nil },
		Now:     func() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC) },
		Notices: notices,
	}, notices
}

func seed(t *testing.T, h *Helper, key string, accounts ...credstore.Account) {
	t.Helper()
	f, err := h.Store.Load()
	if err != nil {
		t.Fatal(err)
	}
	reg := f.EnsureRegistry(key, "https://"+key)
	for _, a := range accounts {
		reg.Put(a)
	}
	if err := h.Store.Save(f); err != nil {
		t.Fatal(err)
	}
}

const carolDID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"

var (
	alice = credstore.Account{Handle: "alice.test", DID: "did:plc:alice", Secret: "atcr_dev_alice", Source: credstore.SourceDevice}
	bob   = credstore.Account{Handle: "bob.test", DID: "did:plc:bob", Secret: "atcr_dev_bob", Source: credstore.SourceDevice}
	carol = credstore.Account{DID: carolDID, Secret: "atcr_dev_carol", Source: credstore.SourceDockerLogin}
)

func TestGetNotFoundPrintsHint(t *testing.T) {
	h, notices := newHelper(t)
	_, _, err := h.Get("https://atcr.io")
	if !credentials.IsErrCredentialsNotFound(err) {
		t.Fatalf("error = %v, want not found", err)
	}
	if !strings.Contains(notices.String(), "docker-credential-atcr login atcr.io") {
		t.Errorf("hint = %q", notices.String())
	}
}

func TestGetPicksAccountFromParentCommandLine(t *testing.T) {
	cases := []struct {
		cmdline []string
		want    string
	}{
		{[]string{"docker", "push", "atcr.io/alice.test/app:1"}, "alice.test"},
		{[]string{"docker", "push", "atcr.io/bob.test/app:1"}, "bob.test"},
		{[]string{"crane", "push", "x.tar", "atcr.io/" + carolDID + "/app"}, carolDID},
		{[]string{"crane", "copy", "atcr.io/alice.test/a", "atcr.io/bob.test/b"}, "bob.test"},
		{[]string{"docker", "push", "atcr.io/dave.test/app"}, "alice.test"}, // unknown identity: active
		{[]string{"docker", "push", "other.io/bob.test/app"}, "alice.test"}, // other registry: active
		{[]string{"docker", "build", "-t", "atcr.io/bob.test/app", "."}, "bob.test"},
	}
	for _, c := range cases {
		h, _ := newHelper(t, c.cmdline...)
		seed(t, h, "atcr.io", bob, carol, alice) // alice logged in last: active
		user, secret, err := h.Get("atcr.io")
		if err != nil {
			t.Fatal(err)
		}
		if user != c.want {
			t.Errorf("cmdline %q: user %q, want %q", c.cmdline, user, c.want)
		}
		secrets := map[string]string{"alice.test": alice.Secret, "bob.test": bob.Secret, carolDID: carol.Secret}
		if secret != secrets[c.want] {
			t.Errorf("cmdline %q: secret %q does not belong to %q", c.cmdline, secret, c.want)
		}
	}
}

func TestGetFallsBackWhenCmdlineUnreadable(t *testing.T) {
	h, _ := newHelper(t)
	var debug bytes.Buffer
	h.Debug = &debug
	h.Cmdline = func() ([]string, error) { return nil, errors.New("no /proc") }
	seed(t, h, "atcr.io", alice, bob)
	user, _, err := h.Get("atcr.io")
	if err != nil || user != "bob.test" {
		t.Fatalf("Get = %q, %v; want the active account bob.test", user, err)
	}
	if !strings.Contains(debug.String(), "no /proc") {
		t.Errorf("debug output = %q", debug.String())
	}
}

func TestAddGetListDelete(t *testing.T) {
	h, notices := newHelper(t)
	for _, c := range []credentials.Credentials{
		{ServerURL: "https://atcr.io", Username: "alice.test", Secret: "pw1"},
		{ServerURL: "atcr.io/v2/", Username: "did:plc:bob", Secret: "pw2"},
		{ServerURL: "http://127.0.0.1:5000", Username: "@carol.test", Secret: "pw3"},
	} {
		if err := h.Add(&c); err != nil {
			t.Fatalf("Add(%+v): %v", c, err)
		}
	}
	list, err := h.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list["atcr.io"] != "did:plc:bob" || list["127.0.0.1:5000"] != "carol.test" {
		t.Errorf("List = %v", list)
	}
	f, _ := h.Store.Load()
	if r := f.Registry("127.0.0.1:5000"); r.URL != "http://127.0.0.1:5000" || r.Accounts[0].Source != credstore.SourceDockerLogin {
		t.Errorf("stored registry = %+v", r)
	}
	if r := f.Registry("atcr.io"); r.URL != "https://atcr.io" || !r.Accounts[0].Added.Equal(h.Now()) {
		t.Errorf("stored registry = %+v", r)
	}

	if err := h.Delete("https://atcr.io/"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(notices.String(), "removed 2 account(s) for atcr.io") {
		t.Errorf("erase notice = %q", notices.String())
	}
	if _, _, err := h.Get("atcr.io"); !credentials.IsErrCredentialsNotFound(err) {
		t.Errorf("Get after Delete: %v", err)
	}
	if err := h.Delete("atcr.io"); err != nil {
		t.Errorf("deleting a missing registry: %v, want success", err)
	}
	if user, secret, err := h.Get("127.0.0.1:5000"); err != nil || user != "carol.test" || secret != "pw3" {
		t.Errorf("other registry after Delete: %q %q %v", user, secret, err)
	}
}

func TestAddRejectsBadInput(t *testing.T) {
	h, _ := newHelper(t)
	for _, c := range []credentials.Credentials{
		{ServerURL: "ftp://atcr.io", Username: "a.test", Secret: "x"},
		{ServerURL: "atcr.io", Username: "a b", Secret: "x"},
		{ServerURL: "atcr.io", Username: "a.test", Secret: ""},
	} {
		if err := h.Add(&c); err == nil {
			t.Errorf("Add(%+v) succeeded", c)
		}
	}
}

func TestGetRefusesReadableFile(t *testing.T) {
	h, _ := newHelper(t)
	seed(t, h, "atcr.io", alice)
	if err := os.Chmod(h.Store.Path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.Get("atcr.io"); !errors.Is(err, credstore.ErrInsecurePermissions) {
		t.Fatalf("Get on a 0644 file: %v", err)
	}
}

// docker login with stored credentials reads them with get and stores them
// again; the device account must survive that unchanged.
func TestAddSameSecretKeepsDeviceAccount(t *testing.T) {
	h, _ := newHelper(t)
	seed(t, h, "atcr.io", credstore.Account{Handle: "alice.test", DID: "did:plc:alice", Secret: "atcr_dev_a", DeviceID: "dev-9", Source: credstore.SourceDevice}, bob)
	user, secret, err := h.Get("atcr.io") // bob is active
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Add(&credentials.Credentials{ServerURL: "atcr.io", Username: "alice.test", Secret: "atcr_dev_a"}); err != nil {
		t.Fatal(err)
	}
	f, _ := h.Store.Load()
	reg := f.Registry("atcr.io")
	a, _ := reg.ActiveAccount()
	if a.DeviceID != "dev-9" || a.Source != credstore.SourceDevice || len(reg.Accounts) != 2 {
		t.Errorf("re-store changed the account: %+v (accounts %d)", a, len(reg.Accounts))
	}
	if err := h.Add(&credentials.Credentials{ServerURL: "atcr.io", Username: user, Secret: secret}); err != nil {
		t.Fatal(err)
	}
	f, _ = h.Store.Load()
	if a, _ := f.Registry("atcr.io").ActiveAccount(); a.Handle != "bob.test" || a.Source != credstore.SourceDevice {
		t.Errorf("re-storing bob's credentials: active %+v", a)
	}
	// A different secret (an app password) replaces the secret.
	if err := h.Add(&credentials.Credentials{ServerURL: "atcr.io", Username: "alice.test", Secret: "app-pw"}); err != nil {
		t.Fatal(err)
	}
	f, _ = h.Store.Load()
	reg = f.Registry("atcr.io")
	if a, _ := reg.ActiveAccount(); a.Secret != "app-pw" || a.DID != "did:plc:alice" || a.Source != credstore.SourceDockerLogin {
		t.Errorf("after docker login with a new secret: %+v", a)
	}
}
