# shellcheck shell=bash
# A private Docker engine for the compose test (test/stack/compose.sh), and the
# images it runs: stand-in base images built from Debian's packages (public
# registries are out of reach here) and the project's REAL Dockerfiles built on
# them. Sourced after lib.sh, never executed.
#
# Everything lives under var/docker, which survives between runs so that the
# second run skips the bases and reuses BuildKit's module and build caches:
#   var/docker/data      the daemon's data root (images, volumes, build cache)
#   var/docker/exec      its exec root (containerd's socket and state)
#   var/docker/rootfs.tar  the mmdebstrap tarball of the Debian base (removed once imported)
#   var/docker/go.mod    keeps the Go tool out of the data root (see start_dockerd)
# The daemon runs with --bridge=none --iptables=false: it changes nothing in the
# network namespace it runs in, and every container uses host networking.

DOCKER_STATE="$ROOT/var/docker"
DOCKER_SOCK="$DOCKER_STATE/docker.sock"
# Debian's CLI (20.10), the one that matches Debian's daemon; a newer static CLI
# elsewhere on PATH would want buildx for `docker build`.
DOCKER_CLI=/usr/bin/docker
COMPOSE_CLI=/usr/bin/docker-compose
DEBIAN_MIRROR=${DEBIAN_MIRROR:-}

# The stand-in bases, passed to the Dockerfiles as GO_IMAGE and RUNTIME_IMAGE
# (and to the compose file as CADDY_IMAGE). Their tags carry what they were
# built from, so a new Go toolchain makes a new Go base.
BASE_DEBIAN=local/atcr-debian:bookworm
BASE_CADDY=local/atcr-caddy:bookworm
# The Go base also carries this machine's CA bundle: module downloads go
# through the same TLS path as the host's (which may add its own CA).
MACHINE_CAS=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
base_go_toolchain_tag() { echo "local/atcr-go-toolchain:$(go env GOVERSION)"; }
# The Go base also carries test/stack/gocacheprog (see build_images), built
# into $GOCACHEPROG_BIN by build_gocacheprog; its hash is in the tag too.
GOCACHEPROG_BIN="$DOCKER_STATE/gocacheprog"
base_go_tag() {
	echo "local/atcr-go:$(go env GOVERSION)-ca$(sha256sum "$MACHINE_CAS" | cut -c1-12)-gcp$(sha256sum "$GOCACHEPROG_BIN" | cut -c1-12)"
}

# build_gocacheprog builds test/stack/gocacheprog static, for the Go base.
build_gocacheprog() {
	(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -o "$GOCACHEPROG_BIN" ./test/stack/gocacheprog) ||
		die "go build ./test/stack/gocacheprog failed"
}

# docker_install installs Debian's docker.io, docker-compose (v1) and
# mmdebstrap when any is missing; a second run only checks.
docker_install() {
	local missing=()
	[[ -x /usr/sbin/dockerd && -x "$DOCKER_CLI" ]] || missing+=(docker.io)
	[[ -x "$COMPOSE_CLI" ]] || missing+=(docker-compose)
	command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
	if ((${#missing[@]} == 0)); then
		log "docker: docker.io, docker-compose and mmdebstrap present"
		return 0
	fi
	log "docker: installing ${missing[*]} from Debian"
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
}

# docker_cmd ARGS... runs Debian's docker CLI against our daemon, with BuildKit.
docker_cmd() { DOCKER_HOST="unix://$DOCKER_SOCK" DOCKER_BUILDKIT=1 "$DOCKER_CLI" "$@"; }

# start_dockerd PREFIX... starts the daemon (through PREFIX, e.g. nsenter into
# the e2e namespace) as the service "dockerd" and waits until it answers.
start_dockerd() {
	# A containerd of the machine would be used instead of the daemon's own and
	# would start containers in ITS namespaces (the host's network).
	[[ ! -S /run/containerd/containerd.sock ]] ||
		die "a system containerd runs (/run/containerd/containerd.sock): the test's daemon would use it"
	mkdir -p "$DOCKER_STATE/data" "$DOCKER_STATE/exec"
	# Image root filesystems and BuildKit's module cache hold Go files: a
	# go.mod makes the directory a module of its own, so `go list ./...` (vet,
	# test) of the project never walks into it.
	printf 'module atcr.io/var/docker\n' >"$DOCKER_STATE/go.mod"
	rm -f "$DOCKER_SOCK"
	start_service dockerd "--data-root $DOCKER_STATE/data" "$@" /usr/sbin/dockerd \
		--data-root "$DOCKER_STATE/data" --exec-root "$DOCKER_STATE/exec" \
		-H "unix://$DOCKER_SOCK" --pidfile "$DOCKER_STATE/docker.pid" \
		--iptables=false --ip6tables=false --bridge=none --log-level=warn
	local pid=$SERVICE_PID i
	for ((i = 0; i < 300; i++)); do
		docker_cmd version >/dev/null 2>&1 && break
		pid_alive "$pid" || die "dockerd exited (log: $(service_log dockerd))"
		sleep 0.1
	done
	docker_cmd version >/dev/null 2>&1 || die "dockerd did not answer within 30 s (log: $(service_log dockerd))"
	DOCKERD_PID=$pid
}

have_image() { docker_cmd image inspect "$1" >/dev/null 2>&1; }

debian_mirror() {
	[[ -n "$DEBIAN_MIRROR" ]] && { echo "$DEBIAN_MIRROR"; return; }
	awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null |
		grep . || echo http://deb.debian.org/debian
}

# build_bases makes the stand-in bases the image builds need, when missing.
# Each is what its public counterpart gives the Dockerfiles: Debian bookworm
# (debian:bookworm-slim) and Debian plus this machine's Go toolchain
# (golang:<version>-bookworm: GOPATH=/go, go on PATH). build_caddy_base makes
# the third.
#
# The Debian base comes from mmdebstrap (minbase: Essential packages and apt,
# what debootstrap's minbase gives): it downloads in parallel and unpacks with
# one dpkg run, where debootstrap took 392–547 s on this machine under load.
build_bases() {
	local t0 go_tag
	build_gocacheprog
	go_tag=$(base_go_tag)
	if ! have_image "$BASE_DEBIAN"; then
		t0=$(now_ms)
		local rootfs="$DOCKER_STATE/rootfs.tar"
		rm -rf "$rootfs" "$DOCKER_STATE/rootfs"
		log "bases: mmdebstrap --variant=minbase bookworm ($(debian_mirror))"
		mmdebstrap --variant=minbase bookworm "$rootfs" "$(debian_mirror)" >"$DOCKER_STATE/mmdebstrap.log" 2>&1 ||
			die "mmdebstrap failed (log: $DOCKER_STATE/mmdebstrap.log)"
		docker_cmd import "$rootfs" "$BASE_DEBIAN" >/dev/null
		rm -f "$rootfs"
		log "bases: $BASE_DEBIAN in $(elapsed "$t0") s"
	fi
	local toolchain_tag
	toolchain_tag=$(base_go_toolchain_tag)
	if ! have_image "$toolchain_tag"; then
		t0=$(now_ms)
		# The context is GOROOT itself: the toolchain that built and tests this tree.
		docker_cmd build --network host -q -t "$toolchain_tag" -f - "$(go env GOROOT)" >/dev/null <<EOF
FROM $BASE_DEBIAN
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ca-certificates git && rm -rf /var/lib/apt/lists/*
COPY . /usr/local/go
ENV GOPATH=/go PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN go version
EOF
		log "bases: $toolchain_tag in $(elapsed "$t0") s"
	fi
	if ! have_image "$go_tag"; then
		local ctx="$DOCKER_STATE/ca-context"
		rm -rf "$ctx" && mkdir -p "$ctx"
		cp "$MACHINE_CAS" "$ctx/ca-certificates.crt"
		cp "$GOCACHEPROG_BIN" "$ctx/gocacheprog"
		docker_cmd build -q -t "$go_tag" -f - "$ctx" >/dev/null <<EOF
FROM $toolchain_tag
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY gocacheprog /usr/local/bin/atcr-gocacheprog
EOF
		rm -rf "$ctx"
		log "bases: $go_tag (the toolchain, this machine's CAs, gocacheprog)"
	fi
}

# build_caddy_base makes Debian's Caddy laid out like the caddy image
# (/config, /data) when missing. Only the compose stack needs it, not the
# image builds, so compose_build runs it beside them.
build_caddy_base() {
	local t0
	if ! have_image "$BASE_CADDY"; then
		t0=$(now_ms)
		docker_cmd build --network host -q -t "$BASE_CADDY" - >/dev/null <<EOF
FROM $BASE_DEBIAN
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends caddy ca-certificates && rm -rf /var/lib/apt/lists/*
ENV XDG_CONFIG_HOME=/config XDG_DATA_HOME=/data
CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
EOF
		log "bases: $BASE_CADDY in $(elapsed "$t0") s"
	fi
}

# build_images builds Dockerfile.appview and Dockerfile.hold on the stand-in
# bases, tagged as the compose file names them (atcr-appview:latest, atcr-hold:latest).
#
# The builds' GOPROXY starts with this machine's own module cache, served on a
# loopback port by test/stack/modproxy (the builds use the host network): on a
# fresh machine BuildKit's module cache is empty, and fetching every module of
# the hold again through the network costs minutes that `make build` already
# spent. A module the cache lacks falls through to the machine's GOPROXY.
#
# Likewise the build cache: modproxy also serves this machine's GOCACHE, and
# the Dockerfiles' GOCACHEPROG build argument names test/stack/gocacheprog
# (in the Go base), which fetches from it every package the host compiled with
# the images' configuration (make's CGO_ENABLED=0 and -trimpath, the same
# toolchain: the Go base is this machine's GOROOT) and keeps it in BuildKit's
# cache mount. A package the host lacks is compiled in the build, as without
# it. On a fresh machine this turns the hold's cold compile (~2,000 packages,
# 386 s on a quiet machine) into a link; the build log ends with gocacheprog's
# counts (var/docker/build-*.log).
#
# The two builds run at the same time: with the packages from the host, each
# is mostly a link and the runtime stage's apt-get, which overlap well.
build_images() {
	local svc t0 proxy modcache addr_file pid="" cacheprog=""
	proxy=$(go env GOPROXY)
	modcache="$(go env GOMODCACHE)/cache/download"
	addr_file="$DOCKER_STATE/modproxy.addr"
	mkdir -p "$modcache"
	rm -f "$addr_file"
	go build -o "$DOCKER_STATE/modproxy" "$ROOT/test/stack/modproxy" || die "build test/stack/modproxy"
	"$DOCKER_STATE/modproxy" -addr-file "$addr_file" -gocache "$(go env GOCACHE)" "$modcache" &
	pid=$!
	for _ in $(seq 50); do [[ -s $addr_file ]] && break; sleep 0.1; done
	[[ -s $addr_file ]] || die "modproxy did not start"
	proxy="http://$(cat "$addr_file"),$proxy"
	cacheprog="/usr/local/bin/atcr-gocacheprog -url http://$(cat "$addr_file")/_gocache/"
	local builds=() failed=()
	for svc in appview hold; do
		build_image "$svc" "$proxy" "$cacheprog" &
		builds+=("$svc:$!")
	done
	for b in "${builds[@]}"; do
		wait "${b#*:}" || failed+=("Dockerfile.${b%%:*} (log: $DOCKER_STATE/build-${b%%:*}.log)")
	done
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
	((${#failed[@]} == 0)) || die "docker build failed: ${failed[*]}"
}

# build_image SVC GOPROXY GOCACHEPROG builds Dockerfile.SVC as atcr-SVC:latest.
build_image() {
	local svc=$1 t0 log_file="$DOCKER_STATE/build-$1.log"
	t0=$(now_ms)
	docker_cmd build --network host --progress plain \
		--build-arg GO_IMAGE="$(base_go_tag)" --build-arg RUNTIME_IMAGE="$BASE_DEBIAN" \
		--build-arg GOPROXY="$2" --build-arg GOCACHEPROG="$3" --build-arg VERSION=e2e \
		-f "$ROOT/Dockerfile.$svc" -t "atcr-$svc:latest" "$ROOT" >"$log_file" 2>&1 || return 1
	log "images: atcr-$svc:latest from Dockerfile.$svc in $(elapsed "$t0") s ($(grep -o 'gocacheprog: .*' "$log_file" | tail -1 || true))"
}
