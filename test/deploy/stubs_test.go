package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The recording stubs put on PATH before the real commands. Each appends its
// command line to $STUB_STATE/calls and keeps the little state the scripts
// query (what is installed, enabled, active, allowed) in $STUB_STATE, so a
// second run sees what the first one did. ATCR_INIT_ROOT is the sandbox root
// of init-upcloud.sh; STUB_FIXTURE is the tree `git clone` copies.
var stubs = map[string]string{
	"dnf": `
case "$*" in
"config-manager --add-repo "*) mkdir -p "$ATCR_INIT_ROOT/etc/yum.repos.d"; echo "[docker-ce-stable]" >"$ATCR_INIT_ROOT/etc/yum.repos.d/docker-ce.repo" ;;
*" install "*docker-compose-plugin*) touch "$STUB_STATE/docker-installed" ;;
esac`,
	"systemctl": `
mkdir -p "$STUB_STATE/enabled" "$STUB_STATE/active"
case "$1" in
is-enabled) [ -e "$STUB_STATE/enabled/$3" ] ;;
is-active) [ -e "$STUB_STATE/active/$3" ] ;;
enable) touch "$STUB_STATE/enabled/$2" ;;
start|restart) touch "$STUB_STATE/active/$2" ;;
daemon-reload) ;;
*) echo "systemctl stub: unexpected $*" >&2; exit 1 ;;
esac`,
	"firewall-cmd": `
touch "$STUB_STATE/fw-services" "$STUB_STATE/fw-ports"
case "$*" in
"--permanent --query-service="*) if grep -qx "${2#--query-service=}" "$STUB_STATE/fw-services"; then echo yes; else echo no; exit 1; fi ;;
"--permanent --add-service="*) echo "${2#--add-service=}" >>"$STUB_STATE/fw-services" ;;
"--permanent --remove-service="*) grep -vx "${2#--remove-service=}" "$STUB_STATE/fw-services" >"$STUB_STATE/fw.tmp" || true; mv "$STUB_STATE/fw.tmp" "$STUB_STATE/fw-services" ;;
"--permanent --remove-port="*) grep -vx "${2#--remove-port=}" "$STUB_STATE/fw-ports" >"$STUB_STATE/fw.tmp" || true; mv "$STUB_STATE/fw.tmp" "$STUB_STATE/fw-ports" ;;
"--permanent --list-services") tr '\n' ' ' <"$STUB_STATE/fw-services"; echo ;;
"--permanent --list-ports") tr '\n' ' ' <"$STUB_STATE/fw-ports"; echo ;;
"--reload") ;;
*) echo "firewall-cmd stub: unexpected $*" >&2; exit 1 ;;
esac`,
	"docker": `
case "$1" in
compose) [ "$2" != version ] || [ -e "$STUB_STATE/docker-installed" ] ;;
logs) cat "$STUB_STATE/logs-${*: -1}" 2>/dev/null || { echo "Error: No such container: ${*: -1}" >&2; exit 1; } ;;
esac`,
	"git": `
case "$1 $3" in
"clone "*) mkdir -p "${*: -1}" && cp -r "$STUB_FIXTURE/." "${*: -1}/" && mkdir -p "${*: -1}/.git" ;;
*" symbolic-ref") [ ! -e "$STUB_STATE/detached" ] ;;
*" rev-parse") echo 0123abc ;;
esac`,
}

// installStubs writes the stubs into a new directory and returns it and the
// state directory.
func installStubs(t *testing.T) (bin, state string) {
	t.Helper()
	bin, state = t.TempDir(), t.TempDir()
	for name, body := range stubs {
		script := "#!/usr/bin/env bash\nprintf '%s\\n' \"" + name + " $*\" >>\"$STUB_STATE/calls\"\n" + strings.TrimLeft(body, "\n") + "\n"
		writeFile(t, filepath.Join(bin, name), script, 0o755)
	}
	return bin, state
}

// calls returns the command lines the stubs recorded, and forgets them.
func calls(t *testing.T, state string) []string {
	t.Helper()
	path := filepath.Join(state, "calls")
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}
