package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// caddyConfig is the part of Caddy's JSON config the tests look at.
type caddyConfig struct {
	Admin *struct {
		Disabled bool `json:"disabled"`
	} `json:"admin"`
	Storage *struct {
		Root string `json:"root"`
	} `json:"storage"`
	Apps struct {
		HTTP struct {
			Servers map[string]struct {
				Listen []string     `json:"listen"`
				Routes []caddyRoute `json:"routes"`
			} `json:"servers"`
		} `json:"http"`
		TLS struct {
			Automation struct {
				Policies []struct {
					Issuers []struct {
						Module string `json:"module"`
						Email  string `json:"email"`
					} `json:"issuers"`
				} `json:"policies"`
			} `json:"automation"`
		} `json:"tls"`
		PKI struct {
			CertificateAuthorities map[string]struct {
				InstallTrust *bool `json:"install_trust"`
			} `json:"certificate_authorities"`
		} `json:"pki"`
	} `json:"apps"`
}

type caddyRoute struct {
	Match []struct {
		Host []string `json:"host"`
	} `json:"match"`
	Handle []caddyHandler `json:"handle"`
}

type caddyHandler struct {
	Handler   string `json:"handler"`
	Upstreams []struct {
		Dial string `json:"dial"`
	} `json:"upstreams"`
	LoadBalancing *struct {
		SelectionPolicy struct {
			Policy string `json:"policy"`
		} `json:"selection_policy"`
		TryDuration int64 `json:"try_duration"`
	} `json:"load_balancing"`
	Headers *struct {
		Request *struct {
			Set map[string][]string `json:"set"`
		} `json:"request"`
	} `json:"headers"`
	Routes []struct {
		Handle []caddyHandler `json:"handle"`
	} `json:"routes"`
}

// proxy is what a site does: its upstream and the Host header it sends there.
type proxy struct {
	upstream string
	hostUp   string // "" = Caddy's default, the client's own Host
}

// sites maps each site to its proxy: by host name on :443, by host:port on
// any other port (the cluster shape's atcr.internal:8443 and :8444).
func (c caddyConfig) sites() map[string]proxy {
	out := map[string]proxy{}
	for _, srv := range c.Apps.HTTP.Servers {
		port := ""
		if len(srv.Listen) == 1 && srv.Listen[0] != ":443" {
			port = srv.Listen[0]
		}
		for _, r := range srv.Routes {
			p, ok := findProxy(r.Handle)
			if !ok {
				continue
			}
			for _, m := range r.Match {
				for _, h := range m.Host {
					out[h+port] = p
				}
			}
		}
	}
	return out
}

// appViewProxy returns the reverse_proxy handler of the site host.
func (c caddyConfig) appViewProxy(t *testing.T, host string) caddyHandler {
	t.Helper()
	var find func(hs []caddyHandler) (caddyHandler, bool)
	find = func(hs []caddyHandler) (caddyHandler, bool) {
		for _, h := range hs {
			if h.Handler == "reverse_proxy" {
				return h, true
			}
			for _, sub := range h.Routes {
				if p, ok := find(sub.Handle); ok {
					return p, true
				}
			}
		}
		return caddyHandler{}, false
	}
	for _, srv := range c.Apps.HTTP.Servers {
		if len(srv.Listen) != 1 || srv.Listen[0] != ":443" {
			continue
		}
		for _, r := range srv.Routes {
			for _, m := range r.Match {
				for _, h := range m.Host {
					if p, ok := find(r.Handle); ok && h == host {
						return p
					}
				}
			}
		}
	}
	t.Fatalf("no reverse_proxy for %s on :443", host)
	return caddyHandler{}
}

func findProxy(hs []caddyHandler) (proxy, bool) {
	for _, h := range hs {
		if h.Handler == "reverse_proxy" && len(h.Upstreams) > 0 {
			p := proxy{upstream: h.Upstreams[0].Dial}
			if h.Headers != nil && h.Headers.Request != nil && len(h.Headers.Request.Set["Host"]) > 0 {
				p.hostUp = h.Headers.Request.Set["Host"][0]
			}
			return p, true
		}
		for _, sub := range h.Routes {
			if p, ok := findProxy(sub.Handle); ok {
				return p, true
			}
		}
	}
	return proxy{}, false
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func caddyPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("caddy")
	if err != nil {
		t.Fatal("caddy is not on PATH: run test/stack/install.sh (make stack-deps)")
	}
	return p
}

// caddy runs the caddy CLI with only the given variables set (plus a throw-away
// HOME, so nothing is written to the real one) and returns its combined output.
func caddy(t *testing.T, vars map[string]string, args ...string) ([]byte, error) {
	t.Helper()
	home := t.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"XDG_CONFIG_HOME=" + home, "XDG_DATA_HOME=" + home}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, caddyPath(t), args...)
	cmd.Env = env
	cmd.Dir = repoRoot(t)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

func productionVars(t *testing.T) map[string]string {
	return map[string]string{
		"APPVIEW_DOMAIN":     "atcr.example.com",
		"HOLD_DOMAIN":        "hold01.example.com",
		"ATCR_ACME_EMAIL":    "ops@example.com",
		"ATCR_CADDY_OVERLAY": t.TempDir(), // empty drop-in directory
	}
}

// e2eVars are the variables test/stack/e2e.sh gives Caddy.
func e2eVars(t *testing.T) map[string]string {
	return map[string]string{
		"APPVIEW_DOMAIN":     "atcr.internal",
		"HOLD_DOMAIN":        "hold.test",
		"ATCR_ACME_EMAIL":    "e2e@atcr.internal",
		"ATCR_CADDY_OVERLAY": filepath.Join(repoRoot(t), "test", "stack", "caddy"),
		"ATCR_CADDY_STORAGE": t.TempDir(),
	}
}

func adapt(t *testing.T, vars map[string]string) caddyConfig {
	t.Helper()
	out, err := caddy(t, vars, "adapt", "--config", "deploy/Caddyfile", "--adapter", "caddyfile")
	if err != nil {
		t.Fatalf("caddy adapt: %v\n%s", err, out)
	}
	// adapt prints warnings as log lines on stderr; the JSON is the line that parses.
	for _, line := range bytes.Split(out, []byte("\n")) {
		var c caddyConfig
		if bytes.HasPrefix(line, []byte(`{"`)) && json.Unmarshal(line, &c) == nil && c.Apps.HTTP.Servers != nil {
			return c
		}
	}
	t.Fatalf("caddy adapt printed no config:\n%s", out)
	return caddyConfig{}
}

func TestCaddyfileValidates(t *testing.T) {
	for name, vars := range map[string]map[string]string{
		"production":  productionVars(t),
		"e2e overlay": e2eVars(t),
	} {
		t.Run(name, func(t *testing.T) {
			out, err := caddy(t, vars, "validate", "--config", "deploy/Caddyfile", "--adapter", "caddyfile")
			if err != nil || !bytes.Contains(out, []byte("Valid configuration")) {
				t.Fatalf("caddy validate: %v\n%s", err, out)
			}
		})
	}
}

// Without its domain the production file is refused, so validation is not vacuous.
func TestCaddyfileRequiresDomains(t *testing.T) {
	for _, missing := range []string{"APPVIEW_DOMAIN", "HOLD_DOMAIN", "ATCR_ACME_EMAIL"} {
		t.Run(missing, func(t *testing.T) {
			vars := productionVars(t)
			delete(vars, missing)
			out, err := caddy(t, vars, "validate", "--config", "deploy/Caddyfile", "--adapter", "caddyfile")
			if err == nil {
				t.Fatalf("caddy validate without %s succeeded:\n%s", missing, out)
			}
		})
	}
}

func TestCaddyfileProductionSites(t *testing.T) {
	c := adapt(t, productionVars(t))
	want := map[string]proxy{
		"atcr.example.com":   {upstream: "127.0.0.1:5000"},
		"hold01.example.com": {upstream: "127.0.0.1:8080"},
	}
	if got := c.sites(); !maps.Equal(got, want) {
		t.Errorf("sites = %+v, want %+v", got, want)
	}
	if c.Admin != nil && c.Admin.Disabled {
		t.Error("production config disables the admin endpoint; only the test overlay should")
	}
	for _, p := range c.Apps.TLS.Automation.Policies {
		for _, iss := range p.Issuers {
			if iss.Module == "internal" {
				t.Error("production config uses the internal CA")
			}
		}
	}
}

func TestCaddyfileE2EOverlay(t *testing.T) {
	vars := e2eVars(t)
	c := adapt(t, vars)
	want := map[string]proxy{
		"atcr.internal":        {upstream: "127.0.0.1:5000"},
		"hold.test":            {upstream: "127.0.0.1:8080"},
		"private-hold.test":    {upstream: "127.0.0.1:8081"},
		"fault-hold.test":      {upstream: "127.0.0.1:8090"},
		"holdreg.lan":          {upstream: "127.0.0.1:8092"},
		"pds.test":             {upstream: "127.0.0.1:2583"},
		"*.pds.test":           {upstream: "127.0.0.1:2583"},
		"plc.test":             {upstream: "127.0.0.1:2582"},
		"blobs.test":           {upstream: "127.0.0.1:9000", hostUp: "127.0.0.1:9000"},
		"blobs-bad.test":       {upstream: "127.0.0.1:9000"},
		"s3.hold.test":         {upstream: "127.0.0.1:9000", hostUp: "127.0.0.1:9000"},
		"s3.private-hold.test": {upstream: "127.0.0.1:9001", hostUp: "127.0.0.1:9001"},
		// The cluster shape (test/stack/e2e-cluster.sh): each AppView alone, and
		// the retiring hold with its S3.
		"atcr.internal:8443":    {upstream: "127.0.0.1:5000"},
		"atcr.internal:8444":    {upstream: "127.0.0.1:5001"},
		"retiring-hold.test":    {upstream: "127.0.0.1:8082"},
		"s3.retiring-hold.test": {upstream: "127.0.0.1:9002", hostUp: "127.0.0.1:9002"},
	}
	if got := c.sites(); !maps.Equal(got, want) {
		t.Errorf("sites = %+v\nwant    %+v", got, want)
	}
	if c.Admin == nil || !c.Admin.Disabled {
		t.Error("the e2e overlay must disable the admin endpoint")
	}
	if c.Storage == nil || c.Storage.Root != vars["ATCR_CADDY_STORAGE"] {
		t.Errorf("storage = %+v, want root %s", c.Storage, vars["ATCR_CADDY_STORAGE"])
	}
	internal := false
	for _, p := range c.Apps.TLS.Automation.Policies {
		for _, iss := range p.Issuers {
			internal = internal || iss.Module == "internal"
		}
	}
	if !internal {
		t.Error("the e2e overlay must issue certificates from the internal CA")
	}
	local, ok := c.Apps.PKI.CertificateAuthorities["local"]
	if !ok || local.InstallTrust == nil || *local.InstallTrust {
		t.Error("the e2e overlay must not install Caddy's root into the host's trust store")
	}
}

// The files stay in caddy fmt's canonical form (Caddy warns about the others).
func TestCaddyfilesFormatted(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "test", "stack", "caddy", "*.caddy"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no overlay files: %v", err)
	}
	files = append(files, filepath.Join(repoRoot(t), "deploy", "Caddyfile"))
	for _, f := range files {
		want, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := caddy(t, nil, "fmt", f)
		if err != nil {
			t.Fatalf("caddy fmt %s: %v\n%s", f, err, got)
		}
		if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
			t.Errorf("%s is not formatted: run caddy fmt --overwrite %s", f, f)
		}
	}
}

// TestCaddyfileAppViewCluster: ATCR_APPVIEW_UPSTREAM names several AppViews
// (docs/cluster.md); the AppView site balances over all of them, round
// robin, and retries a failed connection on the next one for 5 s.
func TestCaddyfileAppViewCluster(t *testing.T) {
	vars := productionVars(t)
	vars["ATCR_APPVIEW_UPSTREAM"] = "10.0.0.5:5000 10.0.0.6:5000"
	h := adapt(t, vars).appViewProxy(t, "atcr.example.com")
	var dials []string
	for _, u := range h.Upstreams {
		dials = append(dials, u.Dial)
	}
	if len(dials) != 2 || dials[0] != "10.0.0.5:5000" || dials[1] != "10.0.0.6:5000" {
		t.Errorf("upstreams = %v, want both AppViews", dials)
	}
	if lb := h.LoadBalancing; lb == nil || lb.SelectionPolicy.Policy != "round_robin" || lb.TryDuration != int64(5*time.Second) {
		t.Errorf("load balancing = %+v, want round_robin with 5s of retries", lb)
	}
}
