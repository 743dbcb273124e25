//go:build e2e && compose

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestCompose runs against the production compose stack that
// `test/stack/e2e.sh compose` brings up (deploy/docker-compose.prod.yml, the
// images of the real Dockerfiles, Caddy with its internal CA, the reference
// PDS and PLC) and checks, with the operator's own tools, what
// docs/deployment.md tells the operator to try: curl of /v2/ and /health,
// docker login / push / pull through docker-credential-atcr, the SIGUSR1
// debug toggle, and the troubleshooting commands inside the containers.
func TestCompose(t *testing.T) {
	registry := env(t, "ATCR_REGISTRY")
	appview := env(t, "ATCR_APPVIEW_URL")

	t.Run("curl", func(t *testing.T) {
		if out := run(t, nil, "curl", "-sS", appview+"/v2/"); out != "{}" {
			t.Errorf("curl %s/v2/ printed %q, want {}", appview, out)
		}
		// The same ping, with its status and challenge: what docker login reads.
		head := run(t, nil, "curl", "-sS", "-o", "/dev/null", "-D", "-", appview+"/v2/")
		if !strings.Contains(head, " 401") || !strings.Contains(strings.ToLower(head), `www-authenticate: bearer realm="`+appview+`/auth/token"`) {
			t.Errorf("the anonymous ping is not a 401 challenge:\n%s", head)
		}
		if out := run(t, nil, "curl", "-sS", appview+"/health"); out != `{"status":"ok"}` {
			t.Errorf("curl %s/health printed %q", appview, out)
		}
		if out := run(t, nil, "curl", "-sS", env(t, "ATCR_HOLD_URL")+"/health"); out != `{"status":"ok"}` {
			t.Errorf("hold /health printed %q", out)
		}
	})

	t.Run("docker login push pull", func(t *testing.T) {
		alice := accounts(t)[0]
		h := newHelperEnv(t)
		b := newBrowser(t)
		b.logIn(alice.Handle, alice.Password)
		login := h.startLogin(t, registry)
		b.step("open the verification URL", chromedp.Navigate(login.url), chromedp.WaitVisible(chromedp.CSS("#approve")))
		b.step("approve", chromedp.Click(chromedp.CSS("#approve")), chromedp.WaitVisible(chromedp.CSS("#message-title")))
		login.wait(t)

		// docker login with no user name asks the credential helper
		// (credHelpers in DOCKER_CONFIG/config.json) and has the daemon
		// check those credentials against the registry's challenge.
		if out := run(t, h.environ, dockerCLI(t), "login", registry); !strings.Contains(out, "Login Succeeded") {
			t.Fatalf("docker login %s:\n%s", registry, out)
		}
		ref := fmt.Sprintf("%s/%s/compose-e2e:%d", registry, alice.Handle, time.Now().UnixNano())
		payload := fmt.Sprintf("pushed by docker through the compose stack at %s\n", time.Now().UTC().Format(time.RFC3339Nano))
		layer := h.layerTar(t, "hello.txt", payload)
		run(t, h.environ, dockerCLI(t), "import", layer, ref)
		if out := run(t, h.environ, dockerCLI(t), "push", ref); !strings.Contains(out, "digest: sha256:") {
			t.Fatalf("docker push printed no digest:\n%s", out)
		}
		run(t, h.environ, dockerCLI(t), "rmi", ref)
		run(t, h.environ, dockerCLI(t), "pull", ref)
		// The pulled image holds the pushed file.
		ctr := strings.TrimSpace(run(t, h.environ, dockerCLI(t), "create", ref, "/none"))
		defer run(t, h.environ, dockerCLI(t), "rm", ctr)
		got := run(t, h.environ, dockerCLI(t), "cp", ctr+":/hello.txt", "-")
		if !strings.Contains(got, strings.TrimSpace(payload)) {
			t.Errorf("the pulled image lacks the pushed file; docker cp gave %q", got)
		}
	})

	t.Run("operator commands", func(t *testing.T) {
		docker := dockerCLI(t)
		// The troubleshooting commands of the guide work in our images.
		if out := run(t, nil, "sh", "-c", docker+" exec atcr-hold env | grep S3_"); !strings.Contains(out, "S3_BUCKET=atcr-e2e") {
			t.Errorf("docker exec atcr-hold env | grep S3_ printed:\n%s", out)
		}
		if out := run(t, nil, docker, "exec", "atcr-hold", "curl", "-sS", "http://127.0.0.1:8080/health"); out != `{"status":"ok"}` {
			t.Errorf("curl inside atcr-hold printed %q", out)
		}
		for _, c := range []string{"atcr-appview", "atcr-hold"} {
			if out := run(t, nil, docker, "exec", c, c, "healthcheck"); out != `{"status":"ok"}` {
				t.Errorf("%s healthcheck printed %q", c, out)
			}
		}
		// SIGUSR1 turns debug logging on; the hold says so and keeps running.
		run(t, nil, docker, "kill", "-s", "SIGUSR1", "atcr-hold")
		deadline := time.Now().Add(30 * time.Second)
		for {
			logs := run(t, nil, docker, "logs", "atcr-hold")
			if strings.Contains(logs, "Log level changed") && strings.Contains(logs, "SIGUSR1") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no toggle line in docker logs atcr-hold after SIGUSR1:\n%s", tail(logs, 4000))
			}
			time.Sleep(200 * time.Millisecond)
		}
		if out := run(t, nil, docker, "inspect", "-f", "{{.State.Running}} {{.RestartCount}}", "atcr-hold"); out != "true 0" {
			t.Errorf("atcr-hold after SIGUSR1: running/restarts %q", out)
		}
		// The guide's backups: the hold's repository while it runs, and a
		// volume through a throw-away container of our image.
		backups := t.TempDir()
		car := run(t, nil, "sh", "-c", docker+" exec atcr-hold atcr-hold repo export > "+backups+"/hold.car && wc -c < "+backups+"/hold.car")
		if car == "0" {
			t.Error("docker exec atcr-hold atcr-hold repo export wrote nothing")
		}
		run(t, nil, docker, "run", "--rm", "--network", "none", "--user", "0", "--entrypoint", "tar",
			"-v", "atcr-hold-data:/data:ro", "-v", backups+":/backup", "atcr-hold:latest", "-C", "/data", "-czf", "/backup/atcr-hold-data.tgz", ".")
		if list := run(t, nil, "tar", "-tzf", filepath.Join(backups, "atcr-hold-data.tgz")); !strings.Contains(list, "./") || len(strings.Split(list, "\n")) < 3 {
			t.Errorf("the volume backup lists:\n%s", list)
		}
		// Compose's health checks (the healthcheck subcommands) report healthy.
		for _, c := range []string{"atcr-appview", "atcr-hold"} {
			deadline := time.Now().Add(2 * time.Minute)
			for {
				status := run(t, nil, docker, "inspect", "-f", "{{.State.Health.Status}}", c)
				if status == "healthy" {
					break
				}
				if status == "unhealthy" || time.Now().After(deadline) {
					t.Fatalf("%s health: %s", c, status)
				}
				time.Sleep(time.Second)
			}
		}
	})
}

// dockerCLI is Debian's docker CLI (the test's daemon is Debian's 20.10).
func dockerCLI(t *testing.T) string {
	t.Helper()
	return env(t, "ATCR_DOCKER_CLI")
}

// run runs a command (with environ, or the test's own environment when nil)
// and returns its trimmed combined output, failing the test when it fails.
func run(t *testing.T, environ []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = environ
	if environ == nil {
		cmd.Env = os.Environ()
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}
