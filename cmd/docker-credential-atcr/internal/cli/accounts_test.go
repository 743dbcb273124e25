package cli

import (
	"os"
	"strings"
	"testing"

	"atcr.io/cmd/docker-credential-atcr/internal/devicetest"
)

func activeHandle(t *testing.T, e *testEnv, key string) string {
	t.Helper()
	a, ok := e.load().Registry(key).ActiveAccount()
	if !ok {
		t.Fatalf("no active account for %s", key)
	}
	return a.Handle
}

func TestSwitchTogglesTwoAccounts(t *testing.T) {
	e := newTestEnv(t)
	e.seed("atcr.io", alice, bob) // bob active
	e.mustRun(0, "", "switch")
	if got := activeHandle(t, e, "atcr.io"); got != "alice.test" {
		t.Fatalf("after toggle active = %q", got)
	}
	if !strings.Contains(e.stdout.String(), "Active account for atcr.io: alice.test") {
		t.Errorf("stdout = %q", e.stdout.String())
	}
	e.mustRun(0, "", "switch", "atcr.io")
	if got := activeHandle(t, e, "atcr.io"); got != "bob.test" {
		t.Fatalf("after second toggle active = %q", got)
	}
}

func TestSwitchByNameAndPicker(t *testing.T) {
	e := newTestEnv(t)
	e.seed("atcr.io", alice, bob, carol) // carol active
	e.mustRun(0, "", "switch", "atcr.io", "did:plc:alice")
	if got := activeHandle(t, e, "atcr.io"); got != "alice.test" {
		t.Fatalf("switch by DID: active = %q", got)
	}
	e.mustRun(0, "", "switch", "@BOB.test") // one argument: an account
	if got := activeHandle(t, e, "atcr.io"); got != "bob.test" {
		t.Fatalf("switch by handle: active = %q", got)
	}

	// Three accounts, no name, not a terminal: ask for a name.
	e.mustRun(1, "", "switch")
	if !strings.Contains(e.stderr.String(), "name one") {
		t.Errorf("stderr = %q", e.stderr.String())
	}
	// In a terminal: numbered picker.
	e.StdinIsTerminal = true
	e.mustRun(0, "3\n", "switch")
	if got := activeHandle(t, e, "atcr.io"); got != "carol.test" {
		t.Fatalf("picker choice 3: active = %q", got)
	}
	if out := e.stdout.String(); !strings.Contains(out, "* 2) bob.test") || !strings.Contains(out, "[1-3]") {
		t.Errorf("picker output:\n%s", out)
	}
	for _, bad := range []string{"4\n", "zero\n", ""} {
		e.mustRun(1, bad, "switch")
	}
	if got := activeHandle(t, e, "atcr.io"); got != "carol.test" {
		t.Errorf("a bad choice changed the active account to %q", got)
	}
}

func TestSwitchErrors(t *testing.T) {
	e := newTestEnv(t)
	e.mustRun(1, "", "switch")
	if !strings.Contains(e.stderr.String(), "not logged in") {
		t.Errorf("no registries: %q", e.stderr.String())
	}
	e.seed("atcr.io", alice)
	e.mustRun(0, "", "switch")
	if !strings.Contains(e.stdout.String(), "only account") {
		t.Errorf("one account: %q", e.stdout.String())
	}
	e.seed("127.0.0.1:5000", alice)
	e.mustRun(1, "", "switch")
	if !strings.Contains(e.stderr.String(), "several registries") {
		t.Errorf("two registries: %q", e.stderr.String())
	}
	e.mustRun(1, "", "switch", "alice.test")
	if !strings.Contains(e.stderr.String(), "several registries") {
		t.Errorf("ambiguous account: %q", e.stderr.String())
	}
	e.mustRun(1, "", "switch", "atcr.io", "nobody.test")
	if !strings.Contains(e.stderr.String(), "accounts: alice.test") {
		t.Errorf("unknown account: %q", e.stderr.String())
	}
	e.mustRun(1, "", "switch", "nobody.test")
	if !strings.Contains(e.stderr.String(), "no registry or account") {
		t.Errorf("unknown name: %q", e.stderr.String())
	}
}

func TestLogout(t *testing.T) {
	e := newTestEnv(t)
	e.seed("atcr.io", alice, bob, carol) // carol active
	e.mustRun(0, "", "logout")
	out := e.stdout.String()
	for _, want := range []string{"Removed carol.test (did:plc:carol) from atcr.io", "now alice.test", "https://atcr.io/settings"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	e.mustRun(0, "", "logout", "atcr.io", "bob.test")
	reg := e.load().Registry("atcr.io")
	if len(reg.Accounts) != 1 || reg.Accounts[0].Handle != "alice.test" {
		t.Fatalf("accounts left = %+v", reg.Accounts)
	}
	e.mustRun(0, "", "logout", "alice.test")
	if e.load().Registry("atcr.io") != nil {
		t.Error("registry kept without accounts")
	}
	e.mustRun(1, "", "logout")

	e.seed("atcr.io", alice, bob)
	e.mustRun(0, "", "logout", "--all", "https://atcr.io")
	if e.load().Registry("atcr.io") != nil {
		t.Error("--all left accounts")
	}
}

func TestStatusNeverPrintsSecrets(t *testing.T) {
	e := newTestEnv(t)
	e.mustRun(0, "", "status")
	if !strings.Contains(e.stdout.String(), "Not logged in") {
		t.Errorf("empty status: %q", e.stdout.String())
	}
	e.seed("atcr.io", alice, carol)
	e.seed("127.0.0.1:5000", bob)
	e.mustRun(0, "", "configure-docker", "atcr.io")
	e.mustRun(0, "", "status")
	out := e.stdout.String()
	for _, secret := range []string{alice.Secret, bob.Secret, carol.Secret} {
		if strings.Contains(out, secret) {
			t.Fatalf("status printed a secret:\n%s", out)
		}
	}
	for _, want := range []string{
		e.credPath(), "atcr.io  (https://atcr.io)", "Docker: uses this helper",
		"* carol.test", "alice.test", "device d-a", "docker login", "added -",
		"127.0.0.1:5000", "configure-docker 127.0.0.1:5000",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "* alice.test") {
		t.Errorf("alice marked active:\n%s", out)
	}
}

func TestStatusCheckShowsRevokedDevice(t *testing.T) {
	srv := devicetest.New(t)
	e := newTestEnv(t)
	key := serverKey(t, srv)
	e.mustRun(0, "", "login", key)
	e.mustRun(0, "", "status", "--check")
	if !strings.Contains(e.stdout.String(), "alice.pds.test") || !strings.Contains(e.stdout.String(), " ok") {
		t.Fatalf("status --check before revoking:\n%s", e.stdout.String())
	}
	srv.Revoke()
	e.mustRun(0, "", "status", "--check")
	if !strings.Contains(e.stdout.String(), "REFUSED") {
		t.Errorf("status --check after revoking:\n%s", e.stdout.String())
	}
}

func TestCommandsRefuseReadableCredentials(t *testing.T) {
	e := newTestEnv(t)
	e.seed("atcr.io", alice)
	if err := os.Chmod(e.credPath(), 0o640); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"status"}, {"switch"}, {"logout"}} {
		e.mustRun(1, "", args...)
		if !strings.Contains(e.stderr.String(), "chmod 600 "+e.credPath()) {
			t.Errorf("%v: stderr = %q", args, e.stderr.String())
		}
	}
}
