package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

const notFound = "credentials not found in native keychain"

func TestProtocolGetChoosesAccountFromParentCommandLine(t *testing.T) {
	e := newTestEnv(t)
	e.seed("atcr.io", alice, bob) // bob active
	cases := map[string]string{
		"docker push atcr.io/alice.test/app:1":               "alice.test",
		"docker push atcr.io/bob.test/app:1":                 "bob.test",
		"crane copy atcr.io/bob.test/a atcr.io/alice.test/b": "alice.test",
		"docker pull atcr.io/someone.else/app":               "bob.test",
		"docker pull ghcr.io/alice.test/app":                 "bob.test",
	}
	for cmdline, want := range cases {
		e.cmdline = strings.Fields(cmdline)
		e.mustRun(0, "https://atcr.io\n", "get")
		var got struct{ ServerURL, Username, Secret string }
		if err := json.Unmarshal(e.stdout.Bytes(), &got); err != nil {
			t.Fatalf("%s: stdout %q: %v", cmdline, e.stdout.String(), err)
		}
		secrets := map[string]string{"alice.test": alice.Secret, "bob.test": bob.Secret}
		if got.Username != want || got.Secret != secrets[want] || got.ServerURL != "https://atcr.io" {
			t.Errorf("%s: got %+v, want %s", cmdline, got, want)
		}
	}
}

func TestProtocolDebugExplainsChoice(t *testing.T) {
	e := newTestEnv(t)
	e.seed("atcr.io", alice, bob)
	e.vars[DebugEnv] = "1"
	e.cmdline = []string{"docker", "push", "atcr.io/alice.test/app"}
	e.mustRun(0, "atcr.io", "get")
	if !strings.Contains(e.stderr.String(), "using alice.test (did:plc:alice) for atcr.io (named by the image reference)") {
		t.Errorf("stderr = %q", e.stderr.String())
	}
}

func TestProtocolErrorsGoToStdout(t *testing.T) {
	e := newTestEnv(t)
	cases := []struct {
		verb, stdin, stdout string
	}{
		{"get", "atcr.io\n", notFound},
		{"get", "", "no credentials server URL"},
		{"get", "not a host name\n", "invalid registry address"},
		{"erase", "", "no credentials server URL"},
		{"store", "", "malformed credentials on stdin"},
		{"store", "{not json", "malformed credentials on stdin"},
		{"store", `{"ServerURL": 42}`, "malformed credentials on stdin"},
		{"store", `{"ServerURL":"","Username":"a","Secret":"b"}`, "no credentials server URL"},
		{"store", `{"ServerURL":"atcr.io","Username":"","Secret":"b"}`, "no credentials username"},
		{"store", `{"ServerURL":"atcr.io","Username":"a.test","Secret":""}`, "no secret"},
	}
	for _, c := range cases {
		e.mustRun(1, c.stdin, c.verb)
		if got := strings.TrimSpace(e.stdout.String()); !strings.HasPrefix(got, c.stdout) {
			t.Errorf("%s <<%q: stdout = %q, want %q…", c.verb, c.stdin, got, c.stdout)
		}
		if c.stdout == notFound && strings.TrimSpace(e.stdout.String()) != notFound {
			t.Errorf("not-found stdout must be exactly the protocol message, got %q", e.stdout.String())
		}
	}
}

func TestProtocolRefusesTerminalStdin(t *testing.T) {
	e := newTestEnv(t)
	e.StdinIsTerminal = true
	e.mustRun(1, "atcr.io\n", "get")
	if !strings.Contains(e.stderr.String(), "echo atcr.io | docker-credential-atcr get") || e.stdout.Len() != 0 {
		t.Errorf("stdout %q stderr %q", e.stdout.String(), e.stderr.String())
	}
	e.mustRun(0, "", "list") // list reads nothing, so a terminal is fine
}

func TestProtocolStoreThenListAndErase(t *testing.T) {
	e := newTestEnv(t)
	e.mustRun(0, `{"ServerURL":"https://atcr.io","Username":"alice.test","Secret":"app-password"}`, "store")
	e.mustRun(0, "", "list")
	var list map[string]string
	if err := json.Unmarshal(e.stdout.Bytes(), &list); err != nil || list["atcr.io"] != "alice.test" || len(list) != 1 {
		t.Fatalf("list = %q (%v)", e.stdout.String(), err)
	}
	e.mustRun(0, "atcr.io/v2/", "erase")
	if e.stdout.Len() != 0 {
		t.Errorf("erase wrote to stdout: %q", e.stdout.String())
	}
	e.mustRun(1, "atcr.io", "get")
	e.mustRun(0, "atcr.io", "erase") // erasing what is gone succeeds
}
