package ui

import (
	"net/http"
	"strings"
)

// installPath is the page that explains how to install docker-credential-atcr.
const installPath = "/install"

// helperGoVersion is the Go the helper builds with: go.mod's go line
// (TestInstallGoVersionMatchesGoMod keeps them together).
const helperGoVersion = "1.26.8"

// installCommand is one command block of the page, with its copy button.
type installCommand struct {
	ID      string // element id of the block, and of its copy button with a "copy-" prefix
	Label   string // what the copy button copies, for screen readers
	Command string // shown and copied exactly
}

// installView is what the /install template shows. Every command names
// this AppView's registry host (Options.Registry, server.service_name):
// the helper talks to https://<host>/auth/device/… (http for localhost),
// and Docker keys credHelpers by the same host.
type installView struct {
	GoVersion     string
	Build         installCommand
	GoInstall     installCommand
	LinuxSystem   installCommand
	LinuxUser     installCommand
	MacSystem     installCommand
	MacUser       installCommand
	Check         installCommand
	Configure     installCommand
	ConfigJSON    installCommand
	Login         installCommand
	LoginNoBrowse installCommand
	Status        installCommand
	Push          installCommand
}

// newInstallView builds the commands for registry host reg. They are the
// ones docs/CREDENTIAL_HELPER.md gives, run from a checkout of this source:
// the binary must be named docker-credential-atcr for Docker to find it.
func newInstallView(reg, handle string) *installView {
	if handle == "" {
		handle = "alice.bsky.social"
	}
	return &installView{
		GoVersion: helperGoVersion,
		Build: installCommand{"cmd-build", "the build command",
			`go build -trimpath -ldflags "-s -w -X atcr.io/pkg/version.Version=$(git describe --tags --always --dirty)" \
  -o bin/docker-credential-atcr ./cmd/docker-credential-atcr`},
		GoInstall: installCommand{"cmd-go-install", "the go install command",
			`go install ./cmd/docker-credential-atcr`},
		LinuxSystem: installCommand{"cmd-linux-system", "the Linux system-wide install command",
			`sudo install -m 0755 bin/docker-credential-atcr /usr/local/bin/docker-credential-atcr`},
		LinuxUser: installCommand{"cmd-linux-user", "the Linux per-user install command",
			`install -D -m 0755 bin/docker-credential-atcr ~/.local/bin/docker-credential-atcr`},
		MacSystem: installCommand{"cmd-mac-system", "the macOS system-wide install commands",
			`sudo mkdir -p /usr/local/bin
sudo install -m 0755 bin/docker-credential-atcr /usr/local/bin/docker-credential-atcr`},
		MacUser: installCommand{"cmd-mac-user", "the macOS per-user install commands",
			`mkdir -p ~/bin && install -m 0755 bin/docker-credential-atcr ~/bin/docker-credential-atcr
echo 'export PATH="$HOME/bin:$PATH"' >> ~/.zshrc`},
		Check: installCommand{"cmd-check", "the version check", `docker-credential-atcr version`},
		Configure: installCommand{"cmd-configure", "the configure-docker command",
			"docker-credential-atcr configure-docker " + reg},
		ConfigJSON: installCommand{"cmd-config-json", "the config.json entry",
			`{
  "credHelpers": {
    "` + jsonHost(reg) + `": "atcr"
  }
}`},
		Login:         installCommand{"cmd-login", "the login command", "docker-credential-atcr login " + reg},
		LoginNoBrowse: installCommand{"cmd-login-no-browser", "the login command for SSH sessions", "docker-credential-atcr login --no-browser " + reg},
		Status:        installCommand{"cmd-status", "the status command", "docker-credential-atcr status --check"},
		Push:          installCommand{"cmd-push", "the push command", "docker push " + reg + "/" + handle + "/myapp:latest"},
	}
}

// jsonHost escapes what a JSON string cannot hold as is. A registry host
// has none of these; this keeps the snippet valid JSON whatever the
// configuration says.
func jsonHost(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// installPage (GET /install) shows how to install docker-credential-atcr
// on Linux and macOS and point Docker at it, with this registry's host.
func (ui *UI) installPage(w http.ResponseWriter, r *http.Request) {
	handle := ""
	if s := browserSessionFrom(r); s != nil {
		handle = s.Display()
	}
	ui.render(w, r, http.StatusOK, "install", pageData{Title: "Install the credential helper", Install: newInstallView(ui.registry, handle)})
}
