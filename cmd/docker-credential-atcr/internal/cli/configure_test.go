package cli

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigureDockerKeepsConfig(t *testing.T) {
	e := newTestEnv(t)
	dir := e.vars["DOCKER_CONFIG"]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.json")
	original := `{"auths":{"ghcr.io":{"auth":"eDp5"}},"credsStore":"pass","proxies":{"default":{"httpProxy":"http://p:3128"}},"x-unknown":{"a":[1,2]}}`
	if err := os.WriteFile(path, []byte(original), 0o640); err != nil {
		t.Fatal(err)
	}
	e.mustRun(0, "", "configure-docker", "https://atcr.io/v2/")
	if !strings.Contains(e.stdout.String(), "Docker now uses docker-credential-atcr for atcr.io") {
		t.Errorf("stdout = %q", e.stdout.String())
	}
	var doc map[string]any
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["credsStore"] != "pass" || doc["auths"] == nil || doc["proxies"] == nil || doc["x-unknown"] == nil {
		t.Errorf("keys lost: %s", data)
	}
	if h := doc["credHelpers"].(map[string]any)["atcr.io"]; h != "atcr" {
		t.Errorf("credHelpers = %v", doc["credHelpers"])
	}
	if m := fileMode(t, path); m != 0o640 {
		t.Errorf("mode = %04o, want 0640 kept", m)
	}
	e.mustRun(0, "", "configure-docker", "atcr.io")
	if !strings.Contains(e.stdout.String(), "already uses") {
		t.Errorf("second run: %q", e.stdout.String())
	}
}

func TestConfigureDockerDefaultsAndHome(t *testing.T) {
	e := newTestEnv(t)
	delete(e.vars, "DOCKER_CONFIG")
	e.LookPath = func(string) (string, error) { return "", errors.New("not found") }
	e.mustRun(0, "", "configure-docker")
	path := filepath.Join(e.HomeDir, ".docker", "config.json")
	data, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(data), `"atcr.io": "atcr"`) {
		t.Fatalf("config = %s (%v)", data, err)
	}
	if !strings.Contains(e.stderr.String(), "not on PATH") {
		t.Errorf("missing PATH warning: %q", e.stderr.String())
	}
	e.mustRun(1, "", "configure-docker", "ftp://x")
}
