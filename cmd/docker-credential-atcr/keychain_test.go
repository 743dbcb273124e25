package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// configureCrane points the process environment (the default keychain reads
// it) at the sandbox: DOCKER_CONFIG with credHelpers naming atcr, PATH with
// the built binary first.
func configureCrane(t *testing.T, s *sandbox, registry string) {
	t.Helper()
	s.mustRun(0, "", "configure-docker", registry)
	t.Setenv("HOME", s.home)
	t.Setenv("DOCKER_CONFIG", filepath.Join(s.home, ".docker"))
	t.Setenv("PATH", binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("ATCR_CREDENTIALS_FILE", "")
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("REGISTRY_AUTH_FILE", "")
}

// TestDefaultKeychainResolvesThroughHelper is crane's path: the default
// keychain reads config.json, finds credHelpers["registry"] = "atcr" and
// runs `docker-credential-atcr get` with the registry on stdin.
func TestDefaultKeychainResolvesThroughHelper(t *testing.T) {
	s := newSandbox(t)
	const registry = "atcr.internal"
	s.mustRun(0, `{"ServerURL":"atcr.internal","Username":"bob.pds.test","Secret":"secret-bob"}`, "store")
	s.mustRun(0, `{"ServerURL":"atcr.internal","Username":"alice.pds.test","Secret":"atcr_dev_secret-alice"}`, "store")
	configureCrane(t, s, registry)

	ref, err := name.ParseReference(registry + "/alice.pds.test/app:1")
	if err != nil {
		t.Fatal(err)
	}
	auth, err := authn.DefaultKeychain.Resolve(ref.Context())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := auth.Authorization()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Username != "alice.pds.test" || cfg.Password != "atcr_dev_secret-alice" {
		t.Errorf("default keychain resolved %+v, want alice's device secret", cfg)
	}

	// A registry without accounts resolves to anonymous, not an error:
	// the helper's not-found message is understood.
	other, _ := name.ParseReference("127.0.0.1:5999/alice.pds.test/app")
	s.mustRun(0, "", "configure-docker", "127.0.0.1:5999")
	auth, err = authn.DefaultKeychain.Resolve(other.Context())
	if err != nil {
		t.Fatalf("unknown registry: %v", err)
	}
	if auth != authn.Anonymous {
		cfg, _ := auth.Authorization()
		t.Errorf("unknown registry resolved to %+v, want anonymous", cfg)
	}
}

// TestKeychainFromHelper is the NewKeychainFromHelper path (ko, kaniko and
// the e2e tests): the Docker client library runs the binary.
func TestKeychainFromHelper(t *testing.T) {
	s := newSandbox(t)
	s.mustRun(0, `{"ServerURL":"https://atcr.internal","Username":"did:plc:ewvi7nxzyoun6zhxrhs64oiz","Secret":"sec"}`, "store")
	configureCrane(t, s, "atcr.internal")
	kc := authn.NewKeychainFromHelper(shellHelper{client.NewShellProgramFunc("docker-credential-atcr")})
	ref, err := name.ParseReference("atcr.internal/someone.test/app")
	if err != nil {
		t.Fatal(err)
	}
	auth, err := kc.Resolve(ref.Context())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := auth.Authorization()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Username != "did:plc:ewvi7nxzyoun6zhxrhs64oiz" || cfg.Password != "sec" {
		t.Errorf("helper keychain resolved %+v", cfg)
	}
}

// shellHelper adapts the Docker client library to authn.Helper.
type shellHelper struct{ program client.ProgramFunc }

func (h shellHelper) Get(serverURL string) (string, string, error) {
	c, err := client.Get(h.program, serverURL)
	if err != nil {
		return "", "", err
	}
	return c.Username, c.Secret, nil
}
