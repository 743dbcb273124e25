package auth

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"atcr.io/pkg/appview/access"
)

func TestSigningKeyPersistedAndReused(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(e.dataDir, "auth", keyFileName)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %o, want 600", perm)
	}
	dirInfo, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if perm := dirInfo.Mode().Perm(); perm != 0o700 {
		t.Errorf("key directory mode %o, want 700", perm)
	}
	raw, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(raw), "-----BEGIN PRIVATE KEY-----") {
		t.Errorf("key file is not a PKCS#8 PEM: %.40q", raw)
	}

	// A restarted service accepts the tokens of the previous one.
	tok, err := e.svc.issueToken(&access.Grant{Access: []access.Access{repo("alice.test/app", "pull")}})
	if err != nil {
		t.Fatal(err)
	}
	restarted := e.newService(t)
	if !restarted.key.Equal(e.svc.key) {
		t.Fatal("restart generated a new key")
	}
	if _, err := restarted.verifyToken(tok.Raw); err != nil {
		t.Errorf("token from before the restart: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("auth directory holds %d entries, want only the key (no temporary files)", len(entries))
	}
}

func TestConcurrentFirstStartsAgreeOnKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth", keyFileName)
	const n = 8
	keys := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := loadOrCreateKey(path, slog.Default())
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = k.D.String()
		}()
	}
	wg.Wait()
	for i := range keys {
		if keys[i] != keys[0] {
			t.Fatalf("starter %d got a different key", i)
		}
	}
}

func TestBadKeyFileRefused(t *testing.T) {
	tests := map[string]string{
		"empty":     "",
		"not PEM":   "hello",
		"wrong PEM": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
		"RSA key":   rsaPKCS8,
	}
	for name, content := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), keyFileName)
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := loadOrCreateKey(path, slog.Default()); err == nil {
				t.Error("bad key file accepted")
			}
			if raw, _ := os.ReadFile(path); string(raw) != content {
				t.Error("bad key file was overwritten")
			}
		})
	}
}

// rsaPKCS8 is a throwaway 512-bit RSA key: valid PKCS#8, wrong algorithm.
const rsaPKCS8 = `-----BEGIN PRIVATE KEY-----
MIIBVAIBADANBgkqhkiG9w0BAQEFAASCAT4wggE6AgEAAkEAu1SU1LfVLPHCozMx
H2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTK
EnDQ6wIDAQABAkEAi6bkJ9FE6TfNMB6TAr33uImORAAzDmcCmSrSxtxFZpcWZ1lL
nsjQbD4kbC0WcJUuWZQHwcH2sIQ7Ia7tIHUOmQIhAOexK9fpjeDEmBQSOJ5ZfXLm
KyWnFvB9x6CbVtjxD4j3AiEAzwBn0HmvHIyFqXFRRq2c/0UnPVzc6yiW2GNEyw0P
HW0CIBwPZB7OXl5cMsXR6WvIe0W1hl7d6Uv/OT/HOxc1ZrvfAiEAxuYYiGfnVFnC
fITW1hO0UOg3Lx1CJLq3Oyd+eAyPo/kCIQDLm9EnCCjdExUyqm7NmWZkKnhh5XD1
VxQB8SHGZdGYYA==
-----END PRIVATE KEY-----
`

func TestOptionsValidation(t *testing.T) {
	e := newEnv(t)
	tests := map[string]func(*Options){
		"no base URL":        func(o *Options) { o.BaseURL = "" },
		"base URL not http":  func(o *Options) { o.BaseURL = "ftp://registry.test" },
		"no data dir":        func(o *Options) { o.DataDir = "" },
		"no directory":       func(o *Options) { o.Directory = nil },
		"no DB":              func(o *Options) { o.DB = nil },
		"bad default hold":   func(o *Options) { o.DefaultHoldDID = "hold.example" },
		"quote in service":   func(o *Options) { o.ServiceName = `a"b` },
		"negative token TTL": func(o *Options) { o.TokenTTL = -1 },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := New(e.options(mutate)); err == nil {
				t.Error("accepted")
			}
		})
	}
	svc := e.newService(t, func(o *Options) { o.BaseURL = "https://registry.test:8443/"; o.ServiceName = "" })
	if svc.service != "registry.test:8443" || svc.realm != "https://registry.test:8443/auth/token" {
		t.Errorf("service=%q realm=%q", svc.service, svc.realm)
	}
}
