package stack

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"atcr.io/pkg/config"
)

// composeFile is the part of deploy/docker-compose.prod.yml these tests read.
type composeFile struct {
	Services map[string]struct {
		Image         string            `yaml:"image"`
		ContainerName string            `yaml:"container_name"`
		NetworkMode   string            `yaml:"network_mode"`
		Restart       string            `yaml:"restart"`
		Environment   map[string]string `yaml:"environment"`
		Volumes       []string          `yaml:"volumes"`
		Healthcheck   struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
		Logging struct {
			Driver  string            `yaml:"driver"`
			Options map[string]string `yaml:"options"`
		} `yaml:"logging"`
	} `yaml:"services"`
	Volumes map[string]struct {
		Name string `yaml:"name"`
	} `yaml:"volumes"`
}

func readDeploy(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "deploy", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var f composeFile
	if err := yaml.Unmarshal(readDeploy(t, "docker-compose.prod.yml"), &f); err != nil {
		t.Fatalf("deploy/docker-compose.prod.yml: %v", err)
	}
	return f
}

// The operator's contract: three containers with these names, host
// networking, a restart policy, rotated json-file logs, the state on the
// named volumes, and health checks for the two servers.
func TestComposeFileShape(t *testing.T) {
	f := loadCompose(t)
	want := map[string]string{"atcr-caddy": "caddy_data:/data", "atcr-appview": "atcr-appview-data:/var/lib/atcr/appview",
		"atcr-hold": "atcr-hold-data:/var/lib/atcr/hold"}
	if len(f.Services) != len(want) {
		t.Errorf("services: %d, want %d", len(f.Services), len(want))
	}
	for name, volume := range want {
		s, ok := f.Services[name]
		if !ok {
			t.Errorf("no service %s", name)
			continue
		}
		if s.ContainerName != name || s.NetworkMode != "host" || s.Restart != "unless-stopped" {
			t.Errorf("%s: container_name %q, network_mode %q, restart %q", name, s.ContainerName, s.NetworkMode, s.Restart)
		}
		if !slices.Contains(s.Volumes, volume) {
			t.Errorf("%s: volumes %v lack %s", name, s.Volumes, volume)
		}
		if s.Logging.Driver != "json-file" || s.Logging.Options["max-size"] == "" || s.Logging.Options["max-file"] == "" {
			t.Errorf("%s: logging %+v, want json-file with rotation", name, s.Logging)
		}
		if name != "atcr-caddy" && !slices.Equal(s.Healthcheck.Test, []string{"CMD", name, "healthcheck"}) {
			t.Errorf("%s: healthcheck %v", name, s.Healthcheck.Test)
		}
	}
	for _, v := range []string{"atcr-appview-data", "atcr-hold-data", "caddy_data"} {
		if vol, ok := f.Volumes[v]; !ok || vol.Name != v {
			t.Errorf("volume %s: %+v (want it declared, named without the project prefix)", v, vol)
		}
	}
}

var interpolation = regexp.MustCompile(`\$\{([A-Z0-9_]+)`)

// Every variable the compose file reads is a line of deploy/.env.example, and
// every line of the example is read by the compose file: the example is
// exactly the operator's list. Every variable passed into the AppView's and
// the hold's containers is one their config reads (an env name of
// `config init`'s template) or one the runtime reads (SSL_CERT_FILE).
func TestEnvExampleMatchesCompose(t *testing.T) {
	compose := string(readDeploy(t, "docker-compose.prod.yml"))
	example := string(readDeploy(t, ".env.example"))
	inExample := map[string]bool{}
	for _, line := range strings.Split(example, "\n") {
		if name, _, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			inExample[name] = true
		}
	}
	for _, name := range []string{"APPVIEW_DOMAIN", "HOLD_DOMAIN", "HOLD_OWNER", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
		"AWS_REGION", "S3_BUCKET", "S3_ENDPOINT", "HOLD_PUBLIC"} {
		if !inExample[name] {
			t.Errorf("deploy/.env.example lacks %s", name)
		}
	}
	used := map[string]bool{"COMPOSE_PROJECT_NAME": true} // read by compose itself
	for _, m := range interpolation.FindAllStringSubmatch(compose, -1) {
		used[m[1]] = true
		if !inExample[m[1]] {
			t.Errorf("the compose file reads ${%s}, which deploy/.env.example does not list", m[1])
		}
	}
	for name := range inExample {
		if !used[name] {
			t.Errorf("deploy/.env.example lists %s, which the compose file does not read", name)
		}
	}

	var tmpl bytes.Buffer
	if err := config.WriteHoldTemplate(&tmpl); err != nil {
		t.Fatal(err)
	}
	if err := config.WriteAppViewTemplate(&tmpl); err != nil {
		t.Fatal(err)
	}
	f := loadCompose(t)
	for _, svc := range []string{"atcr-appview", "atcr-hold"} {
		for name := range f.Services[svc].Environment {
			if !strings.Contains(tmpl.String(), "# env: "+name+"\n") {
				t.Errorf("%s gets %s, which its config does not read", svc, name)
			}
		}
	}
}
