# shellcheck shell=bash
# The reference registry: distribution v3 (the CNCF registry) with filesystem
# storage, started on a free loopback port. test/conformance/run.sh --reference
# runs the conformance suite against it; bench/run.sh measures it beside ATCR.
# Sourced after test/stack/lib.sh (log, die, now_ms, port_busy, pid_alive,
# stop_pid, tool_version, TOOLS_DIR), never executed.

REFERENCE_MODULE=github.com/distribution/distribution/v3
REFERENCE_VERSION=v3.1.2
REFERENCE_BIN="$TOOLS_DIR/registry"
REFERENCE_PID=""
REFERENCE_ADDR=""
REFERENCE_DIR=""

# install_reference_registry puts distribution's registry binary into bin/tools,
# skipped when the binary's build info already names the pinned version.
install_reference_registry() {
	local have t0
	have=$(tool_version "$REFERENCE_BIN" "$REFERENCE_MODULE")
	if [[ "$have" == "$REFERENCE_VERSION" ]]; then
		log "reference registry: present (distribution $REFERENCE_VERSION)"
		return 0
	fi
	command -v go >/dev/null || die "go is required to install the reference registry"
	t0=$(now_ms)
	log "reference registry: go install $REFERENCE_MODULE/cmd/registry@$REFERENCE_VERSION (about 2-4 minutes the first time)"
	mkdir -p "$TOOLS_DIR"
	(cd / && GOBIN="$TOOLS_DIR" go install "$REFERENCE_MODULE/cmd/registry@$REFERENCE_VERSION") >&2 ||
		die "go install of the reference registry failed"
	log "reference registry: installed in $(elapsed "$t0") s"
}

# free_port prints a loopback TCP port nobody listens on (random, 20000-60999).
free_port() {
	local i port
	for ((i = 0; i < 100; i++)); do
		port=$((20000 + RANDOM % 41000))
		port_busy 127.0.0.1 "$port" || {
			echo "$port"
			return 0
		}
	done
	die "no free loopback port found"
}

# start_reference_registry DIR starts the registry with its storage, config and
# log under DIR (wiped first) and waits until /v2/ answers. Sets REFERENCE_PID
# and REFERENCE_ADDR (127.0.0.1:PORT). Callers stop it with stop_reference_registry.
start_reference_registry() {
	REFERENCE_DIR=$1
	local port deadline code
	rm -rf "$REFERENCE_DIR"
	mkdir -p "$REFERENCE_DIR/data"
	port=$(free_port)
	REFERENCE_ADDR="127.0.0.1:$port"
	# Access logs off and level warn: the registry does no per-request logging,
	# so its numbers are not inflated by log I/O (ATCR is run at warn as well).
	cat >"$REFERENCE_DIR/config.yml" <<YML
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $REFERENCE_DIR/data
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: $REFERENCE_ADDR
  secret: $(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
YML
	setsid "$REFERENCE_BIN" serve "$REFERENCE_DIR/config.yml" >"$REFERENCE_DIR/registry.log" 2>&1 </dev/null &
	REFERENCE_PID=$!
	deadline=$(($(date +%s) + 15))
	while :; do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$REFERENCE_ADDR/v2/" 2>/dev/null) || true
		[[ "$code" == 200 ]] && break
		pid_alive "$REFERENCE_PID" || die "the reference registry exited at start (log: $REFERENCE_DIR/registry.log)"
		(($(date +%s) < deadline)) || die "the reference registry did not answer http://$REFERENCE_ADDR/v2/ within 15 s (log: $REFERENCE_DIR/registry.log)"
		sleep 0.1
	done
	log "reference registry: distribution $REFERENCE_VERSION on http://$REFERENCE_ADDR (pid $REFERENCE_PID, storage ${REFERENCE_DIR#"$ROOT"/}/data)"
}

# stop_reference_registry stops the registry started by start_reference_registry.
stop_reference_registry() {
	[[ -n "$REFERENCE_PID" ]] || return 0
	stop_pid "$REFERENCE_PID" "reference registry" || return 1
	log "reference registry: stopped"
	REFERENCE_PID=""
}
