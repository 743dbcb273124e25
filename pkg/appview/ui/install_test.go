package ui

import (
	"encoding/json"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"atcr.io/pkg/version"
)

// codeBlock returns the unescaped text of the <code id=id> block of page.
func codeBlock(t *testing.T, page, id string) string {
	t.Helper()
	m := regexp.MustCompile(`<code id="` + regexp.QuoteMeta(id) + `">([^<]*)</code>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no code block %s", id)
	}
	return html.UnescapeString(m[1])
}

// copyText returns the unescaped data-copy of the copy button of block id.
func copyText(t *testing.T, page, id string) string {
	t.Helper()
	m := regexp.MustCompile(`id="copy-` + regexp.QuoteMeta(id) + `" data-copy="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no copy button for %s", id)
	}
	return html.UnescapeString(m[1])
}

func TestInstallPage(t *testing.T) {
	e := newTestEnv(t)
	b := e.browser()
	r := b.get("/install")
	if r.StatusCode != 200 {
		t.Fatalf("/install: %d", r.StatusCode)
	}
	if csp := r.Header.Get("Content-Security-Policy"); csp != contentSecurityPolicy || r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers: CSP %q, Cache-Control %q", csp, r.Header.Get("Cache-Control"))
	}
	page := r.body
	if m := eventAttr.FindString(page); m != "" {
		t.Errorf("inline event handler: %s", m)
	}
	// Every command names this registry (Options.Registry) and is copied
	// exactly as shown.
	want := map[string]string{
		"cmd-configure":        "docker-credential-atcr configure-docker atcr.example",
		"cmd-login":            "docker-credential-atcr login atcr.example",
		"cmd-login-no-browser": "docker-credential-atcr login --no-browser atcr.example",
		"cmd-push":             "docker push atcr.example/alice.bsky.social/myapp:latest",
		"cmd-check":            "docker-credential-atcr version",
		"cmd-status":           "docker-credential-atcr status --check",
		"cmd-linux-system":     "sudo install -m 0755 bin/docker-credential-atcr /usr/local/bin/docker-credential-atcr",
		"cmd-linux-user":       "install -D -m 0755 bin/docker-credential-atcr ~/.local/bin/docker-credential-atcr",
		"cmd-go-install":       "go install ./cmd/docker-credential-atcr",
	}
	for id, cmd := range want {
		if got := codeBlock(t, page, id); got != cmd {
			t.Errorf("%s shows %q, want %q", id, got, cmd)
		}
	}
	for _, id := range []string{"cmd-build", "cmd-go-install", "cmd-linux-system", "cmd-linux-user", "cmd-mac-system",
		"cmd-mac-user", "cmd-check", "cmd-configure", "cmd-config-json", "cmd-login", "cmd-login-no-browser", "cmd-push", "cmd-status"} {
		if shown, copied := codeBlock(t, page, id), copyText(t, page, id); shown != copied {
			t.Errorf("%s: the copy button copies %q, the page shows %q", id, copied, shown)
		}
		if !strings.Contains(page, `id="copy-`+id+`" data-copy=`) || !regexp.MustCompile(`id="copy-`+id+`" data-copy="[^"]*" aria-label="Copy [^"]+"`).MatchString(page) {
			t.Errorf("%s: copy button without a label", id)
		}
	}
	// The config.json snippet is valid JSON that routes this registry to
	// the helper, as configure-docker writes it.
	var cfg struct {
		CredHelpers map[string]string `json:"credHelpers"`
	}
	if err := json.Unmarshal([]byte(codeBlock(t, page, "cmd-config-json")), &cfg); err != nil || cfg.CredHelpers["atcr.example"] != "atcr" {
		t.Errorf("config.json snippet: %+v %v", cfg, err)
	}
	for _, s := range []string{`<h3 id="linux">Linux</h3>`, `<h3 id="macos">macOS</h3>`, `href="/settings"`, `href="/device"`} {
		if !strings.Contains(page, s) {
			t.Errorf("page lacks %s", s)
		}
	}
}

// Signed in, the push example uses the user's own handle.
func TestInstallPageSignedIn(t *testing.T) {
	e := newTestEnv(t)
	b := e.browser()
	b.logIn("")
	if got := codeBlock(t, b.get("/install").body, "cmd-push"); got != "docker push atcr.example/alice.test/myapp:latest" {
		t.Errorf("push command %q", got)
	}
}

// Every page links to /install from the navigation and the footer.
func TestInstallLinked(t *testing.T) {
	e := newTestEnv(t)
	b := e.browser()
	for _, path := range []string{"/", "/login", "/install"} {
		page := b.get(path).body
		if !strings.Contains(page, `<a href="/install" id="nav-install">Install</a>`) || !strings.Contains(page, `id="footer-install"`) {
			t.Errorf("%s does not link to /install", path)
		}
	}
}

// The commands name things that exist: the package, the version variable
// the build stamps, the Makefile's binary name, go.mod's Go version.
func TestInstallCommandsMatchTheTree(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	if _, err := os.Stat(filepath.Join(root, "cmd", "docker-credential-atcr", "main.go")); err != nil {
		t.Errorf("./cmd/docker-credential-atcr: %v", err)
	}
	_ = &version.Version // -X atcr.io/pkg/version.Version=… needs this variable
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	// make build names each binary after its cmd/ directory unless the
	// Makefile maps it; the helper's directory already has Docker's name.
	if strings.Contains(string(makefile), "docker-credential-atcr=") {
		t.Error("the Makefile renames cmd/docker-credential-atcr; its directory name is the binary's name")
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod); m == nil || string(m[1]) != helperGoVersion {
		t.Errorf("go.mod's go line is %q, the install page says %s", m, helperGoVersion)
	}
	if !strings.Contains(newInstallView("r", "").Build.Command, "atcr.io/pkg/version.Version=") {
		t.Error("the build command does not stamp the version")
	}
}
