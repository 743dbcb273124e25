package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runHelper runs deploy/scripts/NAME with the stubs on PATH and returns its
// output and exit status.
func runHelper(t *testing.T, bin, state, name string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(repoRoot(t), "deploy", "scripts", name), args...)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "STUB_STATE="+state, "ATCR_DIR=/opt/atcr")
	out, code := runCommand(t, cmd)
	return string(out), code
}

func TestGetHoldOAuth(t *testing.T) {
	const old = "https://pds.example.com/oauth/authorize?request_uri=urn%3Aold&client_id=https%3A%2F%2Fhold.example.com"
	const newest = "https://pds.example.com/oauth/authorize?request_uri=urn%3Anew&client_id=https%3A%2F%2Fhold.example.com"
	cases := []struct {
		name, logs string
		code       int
		want       string
	}{
		{"newest pending URL, text log",
			`time=… level=INFO msg="Visit this URL to authorize: ` + old + `"` + "\n" +
				`time=… level=INFO msg="Visit this URL to authorize: ` + newest + `" owner=did:plc:x` + "\n",
			0, "\n" + newest + "\n"},
		{"JSON log escapes &",
			`{"level":"INFO","msg":"Visit this URL to authorize: ` + strings.ReplaceAll(newest, "&", `\u0026`) + `"}` + "\n",
			0, "\n" + newest + "\n"},
		{"registered after the URL",
			`msg="Visit this URL to authorize: ` + old + `"` + "\n" + `msg="hold registered in the owner's PDS" did=did:web:hold.example.com` + "\n",
			0, "already registered"},
		{"a new URL after an old registration",
			`msg="hold registered in the owner's PDS"` + "\n" + `msg="Visit this URL to authorize: ` + newest + `"` + "\n",
			0, "\n" + newest + "\n"},
		{"no URL", "msg=\"serving\" addr=:8080\n", 1, "no registration URL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bin, state := installStubs(t)
			writeFile(t, filepath.Join(state, "logs-atcr-hold"), c.logs, 0o644)
			out, code := runHelper(t, bin, state, "get-hold-oauth.sh")
			if code != c.code || !strings.Contains(out, c.want) {
				t.Errorf("exit %d, output:\n%s\nwant exit %d and %q", code, out, c.code, c.want)
			}
			if got := calls(t, state); len(got) != 1 || got[0] != "docker logs atcr-hold" {
				t.Errorf("docker calls %q, want [docker logs atcr-hold]", got)
			}
		})
	}
	t.Run("no container", func(t *testing.T) {
		bin, state := installStubs(t)
		if out, code := runHelper(t, bin, state, "get-hold-oauth.sh"); code == 0 || !strings.Contains(out, "cannot read the logs of atcr-hold") {
			t.Errorf("exit %d, output:\n%s", code, out)
		}
	})
}

func TestLogsHelper(t *testing.T) {
	compose := "docker compose -f /opt/atcr/deploy/docker-compose.prod.yml --env-file /opt/atcr/.env -p atcr logs"
	cases := []struct {
		args []string
		want string
	}{
		{nil, compose + " --tail 200 --follow"},
		{[]string{"hold"}, "docker logs --tail 200 --follow atcr-hold"},
		{[]string{"appview", "--since", "1h"}, "docker logs --since 1h atcr-appview"},
		{[]string{"caddy"}, "docker logs --tail 200 --follow atcr-caddy"},
	}
	for _, c := range cases {
		bin, state := installStubs(t)
		writeFile(t, filepath.Join(state, "logs-atcr-hold"), "", 0o644)
		writeFile(t, filepath.Join(state, "logs-atcr-appview"), "", 0o644)
		writeFile(t, filepath.Join(state, "logs-atcr-caddy"), "", 0o644)
		if out, code := runHelper(t, bin, state, "logs.sh", c.args...); code != 0 {
			t.Errorf("logs.sh %v: exit %d\n%s", c.args, code, out)
		}
		if got := calls(t, state); len(got) != 1 || got[0] != c.want {
			t.Errorf("logs.sh %v ran %q, want %q", c.args, got, c.want)
		}
	}
	bin, state := installStubs(t)
	if out, code := runHelper(t, bin, state, "logs.sh", "postgres"); code != 2 || !strings.Contains(out, "usage:") {
		t.Errorf("logs.sh postgres: exit %d\n%s", code, out)
	}
}

func TestRebuildHelper(t *testing.T) {
	compose := "docker compose -f /opt/atcr/deploy/docker-compose.prod.yml --env-file /opt/atcr/.env -p atcr"
	build := []string{"git -C /opt/atcr rev-parse --short HEAD", compose + " build", "systemctl restart atcr", compose + " ps"}
	cases := []struct {
		name     string
		detached bool
		args     []string
		code     int
		want     []string
	}{
		{"on a branch", false, nil, 0, append([]string{"git -C /opt/atcr symbolic-ref --quiet HEAD", "git -C /opt/atcr pull --ff-only"}, build...)},
		{"pinned, no ref", true, nil, 2, []string{"git -C /opt/atcr symbolic-ref --quiet HEAD", "git -C /opt/atcr rev-parse --short HEAD"}},
		{"pinned, to a tag", true, []string{"v1.2.0"}, 0, append([]string{"git -C /opt/atcr fetch --tags --quiet origin", "git -C /opt/atcr checkout --quiet v1.2.0", "git -C /opt/atcr symbolic-ref --quiet HEAD"}, build...)},
	}
	for _, c := range cases {
		bin, state := installStubs(t)
		if c.detached {
			writeFile(t, filepath.Join(state, "detached"), "", 0o644)
		}
		out, code := runHelper(t, bin, state, "rebuild.sh", c.args...)
		if code != c.code {
			t.Errorf("%s: exit %d, want %d\n%s", c.name, code, c.code, out)
		}
		if got := calls(t, state); strings.Join(got, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("%s: ran\n%s\nwant\n%s", c.name, strings.Join(got, "\n"), strings.Join(c.want, "\n"))
		}
		if c.code == 2 && !strings.Contains(out, "is pinned to 0123abc") {
			t.Errorf("%s: output\n%s", c.name, out)
		}
	}
}
