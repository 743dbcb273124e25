#!/usr/bin/env bash
# make e2e: the production-shaped stack in a private network namespace, and the
# end-to-end tests run inside it.
#
# Inside `unshare --mount --net` the stack has its own loopback and its own
# /etc/hosts (a bind mount visible only there) naming atcr.internal, hold.test,
# private-hold.test, fault-hold.test (the fault tests' own hold), pds.test, plc.test,
# blobs.test, blobs-bad.test, alice.pds.test, bob.pds.test, holdreg.lan and
# holdowner.pds.test (TestHoldRegistration's hold and its owner) as 127.0.0.1. Caddy serves all of them on :443 from its internal
# CA (deploy/Caddyfile plus the overlay in test/stack/caddy), so did:web, handle
# resolution and OAuth run over real HTTPS with no port, and no binary runs with
# insecure_local_dev. Nothing on the host changes.
#
#   test/stack/e2e.sh                  the local stack's life-cycle tests (go test -tags stack
#                                      ./test/stack/, on the host) and the Jetstream consumer's
#                                      (./pkg/appview/jetstream/), then the namespace stack up,
#                                      go test -tags e2e ./test/e2e/... inside, stack down
#   test/stack/e2e.sh test ARGS...     only the namespace part, ARGS passed to go test (-run TestX)
#   test/stack/e2e.sh run -- CMD...    stack up, CMD inside the namespace, stack down
#   test/stack/e2e.sh shell            stack up, interactive shell inside, stack down on exit
#   test/stack/e2e.sh up | exec -- CMD... | down
#                                      keep a stack running between commands
#   test/stack/e2e.sh cluster [GO TEST ARGS]
#                                      the cluster shape (e2e-cluster.sh: two AppViews behind
#                                      Caddy's round robin on PostgreSQL and Redis, three holds)
#                                      and only its tests (-run '^TestCluster' unless ARGS say)
#   ATCR_E2E_CLUSTER=1 test/stack/e2e.sh up | shell | run -- CMD...
#                                      the same commands on the cluster shape
#   test/stack/e2e.sh restart appview-a|appview-b
#                                      (cluster shape, from inside) stop and start one AppView
#   test/stack/e2e.sh compose [TEST]  the production compose stack (deploy/docker-compose.prod.yml,
#                                      the real Dockerfiles, Docker in the namespace) and
#                                      TestCompose (or TEST) against it: see compose-stack.sh
#   test/stack/e2e.sh gc [hold|private-hold]
#                                      SIGUSR2 to a running stack's hold: collect orphaned blobs now
#
# Inside, var/e2e/stack.env is sourced, bin/ and bin/tools/ are on PATH, and
# SSL_CERT_FILE, CURL_CA_BUNDLE, NODE_EXTRA_CA_CERTS and AWS_CA_BUNDLE name a bundle
# of the system CAs plus Caddy's root.
set -euo pipefail
STACK_LOG_TAG=e2e
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=docker-lib.sh
. "$STACK_DIR/docker-lib.sh"
# A dead reader of our output (`… | tee log`, then Ctrl-C) must not kill this script
# before it has stopped the services: writes fail instead.
trap '' PIPE

STATE="$ROOT/var/e2e"
PIDFILE="$ROOT/var/e2e.pids"
LOG_DIR="$STATE/logs"
ENV_FILE="$STATE/stack.env"
BUNDLE="$STATE/ca-bundle.pem"
CADDY_ROOT="$STATE/caddy-data/pki/authorities/local/root.crt"
HOSTNAMES=(atcr.internal hold.test private-hold.test fault-hold.test s3.hold.test s3.private-hold.test pds.test plc.test blobs.test blobs-bad.test alice.pds.test bob.pds.test holdreg.lan holdowner.pds.test)
LOG_LEVEL=${STACK_LOG_LEVEL:-info}
# Caddy's upstreams for atcr.internal: the one AppView, or the cluster's pair.
APPVIEW_UPSTREAMS=127.0.0.1:5000
# Caddy's reverse-proxy log (test/stack/caddy/global-e2e.caddy, logs/caddy-upstreams.log):
# its errors, or every upstream round trip (cluster shape).
CADDY_UPSTREAM_LOG_LEVEL=ERROR
SYSTEM_CAS=/etc/ssl/certs/ca-certificates.crt
# The stack's own services, which resolve to 127.0.0.1: the only private hosts
# the AppView's and holds' guarded HTTP clients may reach (identity.private_hosts).
# Users' handles live under pds.test; the AppView streams parts to the holds' S3.
PRIVATE_HOSTS='[plc.test, pds.test, "*.pds.test", hold.test, private-hold.test, s3.hold.test, s3.private-hold.test, holdreg.lan, retiring-hold.test, s3.retiring-hold.test]'
# The private hold's GC grace window: short, so the GC test can age a blob past it.
PRIVATE_HOLD_GC_GRACE=10s

# shellcheck source=compose-stack.sh
. "$STACK_DIR/compose-stack.sh"
# The cluster shape (e2e.sh cluster, or ATCR_E2E_CLUSTER=1 with up/shell/run).
CLUSTER=${ATCR_E2E_CLUSTER:-0}
# shellcheck source=e2e-cluster.sh
. "$STACK_DIR/e2e-cluster.sh"

START=$(now_ms)
T0=$START
NS_PID=""
HOST_HOSTS_SUM=$(sha256sum /etc/hosts | cut -d' ' -f1)

# NS: the command prefix that enters the namespace (nsenter execs, so a service
# started through it keeps its PID). NS_ENV: the environment of every process
# inside: the trust bundle (the machine's own SSL_CERT_FILE/CURL_CA_BUNDLE would
# otherwise win) and the project's binaries on PATH.
NS=()
NS_ENV=(env SSL_CERT_FILE="$BUNDLE" CURL_CA_BUNDLE="$BUNDLE" NODE_EXTRA_CA_CERTS="$BUNDLE"
	AWS_CA_BUNDLE="$BUNDLE" REQUESTS_CA_BUNDLE="$BUNDLE" GIT_SSL_CAINFO="$BUNDLE"
	PATH="$ROOT/bin:$TOOLS_DIR:$PATH")

set_namespace() {
	NS_PID=$1
	NS=(nsenter -t "$NS_PID" -m -n --wd="$ROOT")
	RUN_IN=("${NS[@]}" "${NS_ENV[@]}")
}

teardown() {
	local rc=0
	compose_down # the compose stack, if any, while its dockerd still runs
	if ((${#PIDS[@]})); then
		log "stopping the stack"
		stop_services || rc=1
	fi
	((rc == 0)) && remove_cluster_tmp
	if [[ "$(sha256sum /etc/hosts | cut -d' ' -f1)" != "$HOST_HOSTS_SUM" ]]; then
		log "WARNING: the host's /etc/hosts changed while the stack ran"
		rc=1
	fi
	((rc == 0)) && log "stopped: no process left, host /etc/hosts unchanged"
	return $rc
}

on_exit() {
	local rc=$?
	trap - EXIT INT TERM
	teardown || rc=1
	exit "$rc"
}

preflight() {
	"$STACK_DIR/install.sh"
	require_node_modules
	require_binaries
	((CLUSTER)) && require_cluster_engines
	command -v caddy >/dev/null || die "caddy is missing: run test/stack/install.sh"
	if ! command -v unshare >/dev/null || ! command -v nsenter >/dev/null; then
		die "unshare/nsenter (util-linux) are required"
	fi
	[[ $(id -u) == 0 ]] || die "the e2e stack needs root (unshare --mount --net, mount --bind)"
	if previous_stack_running "$PIDFILE"; then
		die "an e2e stack is already running (pids in $PIDFILE): stop it with test/stack/e2e.sh down"
	fi
	# A fresh state for every stack, except the screenshots the browser tests
	# saved: make test starts this stack again for the conformance suite, and
	# the screenshots of the e2e run are what people look at afterwards.
	remove_cluster_tmp
	if [[ -d "$STATE" ]]; then
		find "$STATE" -mindepth 1 -maxdepth 1 ! -name screenshots -exec rm -rf {} +
	fi
	rm -f "$PIDFILE"
	mkdir -p "$STATE" "$LOG_DIR" "$STATE/caddy-home"
	: >"$PIDFILE"
	((CLUSTER)) || build_test_vulndb "$TEST_VULNDB"
}

# in_new_namespaces PID succeeds when PID's mount and network namespaces both
# differ from this script's.
in_new_namespaces() {
	local ns
	for ns in mnt net; do
		[[ "$(readlink "/proc/$1/ns/$ns" 2>/dev/null || echo gone)" != "$(readlink "/proc/$$/ns/$ns")" ]] || return 1
	done
	[[ -e "/proc/$1/ns/net" ]]
}

start_namespace() {
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.0.1\t%s\n' "${HOSTNAMES[*]}" >"$STATE/hosts"
	# The holder keeps the namespace alive; every service joins it with nsenter.
	start_service netns "sleep infinity" unshare --mount --net sleep infinity
	set_namespace "$SERVICE_PID"
	# unshare creates the namespaces before it execs sleep: wait for that, and never
	# go on while the holder is still in the host's namespaces (the bind mount below
	# would then cover the host's /etc/hosts).
	local i
	for ((i = 0; i < 100; i++)); do
		in_new_namespaces "$NS_PID" && break
		pid_alive "$NS_PID" || die "unshare --mount --net failed (log: $(service_log netns))"
		sleep 0.05
	done
	in_new_namespaces "$NS_PID" || die "pid $NS_PID did not enter new mount and network namespaces"
	"${NS[@]}" ip link set lo up
	"${NS[@]}" mount --bind "$STATE/hosts" /etc/hosts
	log "namespace up (holder pid $NS_PID)"
}

start_caddy() {
	start_service caddy "caddy run" "${NS[@]}" env \
		XDG_CONFIG_HOME="$STATE/caddy-home" XDG_DATA_HOME="$STATE/caddy-home" HOME="$STATE/caddy-home" \
		ATCR_CADDY_OVERLAY="$STACK_DIR/caddy" ATCR_CADDY_STORAGE="$STATE/caddy-data" \
		APPVIEW_DOMAIN=atcr.internal HOLD_DOMAIN=hold.test ATCR_ACME_EMAIL=e2e@atcr.internal \
		ATCR_APPVIEW_UPSTREAM="$APPVIEW_UPSTREAMS" \
		ATCR_CADDY_UPSTREAM_LOG="$(service_log caddy-upstreams)" ATCR_CADDY_UPSTREAM_LOG_LEVEL="$CADDY_UPSTREAM_LOG_LEVEL" \
		caddy run --config "$ROOT/deploy/Caddyfile" --adapter caddyfile
	local pid=$SERVICE_PID
	wait_file caddy "$CADDY_ROOT" 20 "$pid"
	cat "$SYSTEM_CAS" "$CADDY_ROOT" >"$BUNDLE"
	# Every site has its certificate once a verified handshake works (502: no upstream yet).
	local host
	# atcr.internal is probed on :8443 (sites-e2e.caddy), whose certificate has the
	# same name: on :443 a request with no AppView up yet waits out the load
	# balancer's 5 s of retries (deploy/Caddyfile).
	for host in "${HOSTNAMES[@]}"; do
		[[ "$host" == atcr.internal ]] && host=atcr.internal:8443
		wait_http caddy "https://$host/" 20 '[1-5][0-9][0-9]' "$pid"
	done
	log "caddy up, TLS for ${#HOSTNAMES[@]} names ($(elapsed "$T0") s)"
}

write_hold_yaml() {
	cat >"$STATE/hold.yaml" <<EOF
# Written by test/stack/e2e.sh (end-to-end stack); rewritten at every start.
log:
  level: $LOG_LEVEL
server:
  addr: 127.0.0.1:8080
  public_url: https://hold.test
  public: true
  data_dir: $STATE/hold
storage:
  embedded_addr: 127.0.0.1:9000
  public_endpoint: https://s3.hold.test
  pull_zone_url: https://blobs.test
registration:
  owner_did: "$1"
  allow_all_crew: true
identity:
  plc_url: https://plc.test
  private_hosts: $PRIVATE_HOSTS
EOF
}

# write_private_hold_yaml OWNER_DID: a second hold, private and closed to new crew
# (only its owner, alice, may push or pull), for the access and GC tests. Its GC
# grace window is short so a test can make a true orphan and see it collected
# (SIGUSR2); it is a hold of its own, so no other test's blobs are at stake.
write_private_hold_yaml() {
	cat >"$STATE/private-hold.yaml" <<EOF
# Written by test/stack/e2e.sh (end-to-end stack); rewritten at every start.
log:
  level: $LOG_LEVEL
  format: json
server:
  addr: 127.0.0.1:8081
  public_url: https://private-hold.test
  public: false
  data_dir: $STATE/private-hold
storage:
  embedded_addr: 127.0.0.1:9001
  public_endpoint: https://s3.private-hold.test
registration:
  owner_did: "$1"
  allow_all_crew: false
identity:
  plc_url: https://plc.test
  private_hosts: $PRIVATE_HOSTS
gc:
  grace_period: $PRIVATE_HOLD_GC_GRACE
EOF
}

# The stack's Jetstream (bin/tools/jetstream, v0.2.0, built by make stack-deps)
# on loopback inside the namespace, following the PDS like a relay.
JETSTREAM_ADDR=127.0.0.1:6008

# start_jetstream DID... starts Jetstream following pds.test for the given
# accounts (lib.sh: start_jetstream_service, which make run uses too).
start_jetstream() {
	start_jetstream_service "$JETSTREAM_ADDR" https://pds.test https://plc.test "$STATE/jetstream" "$@"
	log "Jetstream up ($(elapsed "$T0") s)"
}

write_appview_yaml() {
	cat >"$STATE/appview.yaml" <<EOF
# Written by test/stack/e2e.sh (end-to-end stack); rewritten at every start.
log:
  level: $LOG_LEVEL
server:
  addr: 127.0.0.1:5000
  base_url: https://atcr.internal
  data_dir: $STATE/appview
  default_hold_did: "did:web:hold.test"
  # Well inside stop_pid's 10 s before SIGKILL (the AppView then takes at
  # most 3 s more to abort open upload sessions).
  shutdown_timeout: 5s
identity:
  plc_url: https://plc.test
  private_hosts: $PRIVATE_HOSTS
EOF
}

# The stack's hold gets the TEST vulnerability database (lib.sh:
# build_test_vulndb, import_test_vulndb) before it starts, so its scans are
# real Grype scans from the first push. The private hold gets none: it shows
# the "no vulnerability database" path. The fault tests' holds import the
# same archive (ATCR_TEST_VULNDB).
TEST_VULNDB="$STATE/test-vulndb.tar.gz"

start_services() {
	local accounts="$STATE/accounts.json"
	# --plc-multikey-docs: DID documents as plc.directory serves them, which
	# Jetstream needs (see pds.mjs).
	start_service pds pds.mjs "${RUN_IN[@]}" \
		"$NODE22" "$STACK_DIR/pds.mjs" --mode e2e --data "$STATE/pds" --out "$accounts" --plc-multikey-docs
	local pid=$SERVICE_PID
	wait_file pds "$accounts" 60 "$pid"
	wait_http pds https://pds.test/xrpc/com.atproto.server.describeServer 10 200 "$pid"
	wait_http pds https://plc.test/_health 10 200 "$pid"
	log "PLC and PDS up ($(elapsed "$T0") s)"

	local owner private_pid
	owner=$(json_get "$accounts" 'j.accounts[0].did')
	start_jetstream "$owner" "$(json_get "$accounts" 'j.accounts[1].did')"
	write_hold_yaml "$owner"
	write_private_hold_yaml "$owner"
	write_appview_yaml
	import_test_vulndb "$TEST_VULNDB" "$STATE/hold.yaml"
	# Both holds start at once; each is waited for in turn.
	start_service hold hold.yaml "${RUN_IN[@]}" "$HOLD_BIN" serve --config "$STATE/hold.yaml"
	pid=$SERVICE_PID
	start_service private-hold private-hold.yaml "${RUN_IN[@]}" "$HOLD_BIN" serve --config "$STATE/private-hold.yaml"
	private_pid=$SERVICE_PID
	wait_http hold https://hold.test/xrpc/_health 30 200 "$pid"
	wait_http hold http://127.0.0.1:9000/ 30 '[1-5][0-9][0-9]' "$pid"
	wait_http private-hold https://private-hold.test/xrpc/_health 30 200 "$private_pid"
	wait_http private-hold http://127.0.0.1:9001/ 30 '[1-5][0-9][0-9]' "$private_pid"
	log "holds up ($(elapsed "$T0") s)"

	# JETSTREAM_URL: the AppView's index follows the stack's Jetstream
	# (ws:// to a loopback address needs no insecure_local_dev).
	start_service appview appview.yaml "${RUN_IN[@]}" JETSTREAM_URL="ws://$JETSTREAM_ADDR" \
		"$APPVIEW_BIN" serve --config "$STATE/appview.yaml"
	wait_http appview https://atcr.internal/health 30 200 "$SERVICE_PID"
	log "AppView up ($(elapsed "$T0") s)"
}

write_stack_env() {
	local a="$STATE/accounts.json" extra=()
	((CLUSTER)) && mapfile -t extra < <(cluster_env)
	write_env_file "$ENV_FILE" \
		ATCR_STACK_MODE=e2e \
		ATCR_STACK_DIR="$STATE" \
		ATCR_REGISTRY=atcr.internal \
		ATCR_REGISTRY_SCHEME=https \
		ATCR_APPVIEW_URL=https://atcr.internal \
		ATCR_USERNAME="$(json_get "$a" 'j.accounts[0].handle')" \
		ATCR_PASSWORD="$(json_get "$a" 'j.accounts[0].appPassword')" \
		ATCR_ACCOUNT_PASSWORD="$(json_get "$a" 'j.accounts[0].password')" \
		ATCR_DID="$(json_get "$a" 'j.accounts[0].did')" \
		ATCR_USERNAME2="$(json_get "$a" 'j.accounts[1].handle')" \
		ATCR_PASSWORD2="$(json_get "$a" 'j.accounts[1].appPassword')" \
		ATCR_ACCOUNT_PASSWORD2="$(json_get "$a" 'j.accounts[1].password')" \
		ATCR_DID2="$(json_get "$a" 'j.accounts[1].did')" \
		ATCR_HOLD_URL=https://hold.test \
		ATCR_HOLD_DID=did:web:hold.test \
		ATCR_HOLD_DATA_DIR="$STATE/hold" \
		ATCR_PRIVATE_HOLD_URL=https://private-hold.test \
		ATCR_PRIVATE_HOLD_DID=did:web:private-hold.test \
		ATCR_PRIVATE_HOLD_DATA_DIR="$STATE/private-hold" \
		ATCR_PRIVATE_HOLD_LOG="$LOG_DIR/private-hold.log" \
		ATCR_PRIVATE_HOLD_GC_GRACE="$PRIVATE_HOLD_GC_GRACE" \
		ATCR_FAULT_HOLD_URL=https://fault-hold.test \
		ATCR_FAULT_HOLD_DID=did:web:fault-hold.test \
		ATCR_FAULT_HOLD_GATE=127.0.0.1:8090 \
		ATCR_REG_HOLD_URL=https://holdreg.lan \
		ATCR_REG_HOLD_DID=did:web:holdreg.lan \
		ATCR_REG_HOLD_ADDR=127.0.0.1:8092 \
		ATCR_TEST_VULNDB="$TEST_VULNDB" \
		ATCR_PDS_URL=https://pds.test \
		ATCR_PLC_URL=https://plc.test \
		ATCR_S3_ENDPOINT=http://127.0.0.1:9000 \
		ATCR_S3_PUBLIC_ENDPOINT=https://s3.hold.test \
		ATCR_PULL_ZONE_URL=https://blobs.test \
		ATCR_PULL_ZONE_BAD_URL=https://blobs-bad.test \
		ATCR_CA_BUNDLE="$BUNDLE" \
		"${extra[@]}"
	log "stack up in $(elapsed "$T0") s; environment in ${ENV_FILE#"$ROOT"/}"
}

# in_ns CMD... runs CMD inside the namespace with the stack's environment.
in_ns() {
	# shellcheck disable=SC2016 # $0 and $@ belong to the inner bash
	"${RUN_IN[@]}" bash -c '. "$0"; exec "$@"' "$ENV_FILE" "$@"
}

up() {
	T0=$(now_ms) # phase times below count from the stack's start
	preflight
	trap on_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	local more=()
	if ((CLUSTER)); then
		read -ra more < <(cluster_hostnames)
		HOSTNAMES+=("${more[@]}")
		APPVIEW_UPSTREAMS=$CLUSTER_UPSTREAMS
		CADDY_UPSTREAM_LOG_LEVEL=DEBUG
	fi
	start_namespace
	start_caddy
	if ((CLUSTER)); then
		start_cluster_services
	else
		start_services
	fi
	write_stack_env
}

run_tests() {
	# Compile first, outside the stack, so a build error costs no stack start.
	log "compiling the e2e tests"
	(cd "$ROOT" && go test -tags e2e -count=1 -run '^$' ./test/e2e/... >/dev/null) ||
		die "the e2e tests do not compile: cd $ROOT && go vet -tags e2e ./test/e2e/..."
	if (($# == 0)); then
		# The full run also checks the local stack (make run) on the host's loopback:
		# start, stack.env, every service answering, Ctrl-C/SIGTERM/stop.sh leaving nothing.
		log "checking the local stack's life cycle (go test -tags stack ./test/stack/)"
		(cd "$ROOT" && go test -tags stack -count=1 ./test/stack/) || die "the local stack's life-cycle tests failed"
		# The AppView's Jetstream consumer against jetstream v0.2.0 following its own
		# PLC and PDS (free loopback ports; test/stack/jetstreamtest).
		log "running the Jetstream consumer against a real Jetstream (go test -tags stack ./pkg/appview/jetstream/)"
		(cd "$ROOT" && go test -tags stack -count=1 -run TestAgainstRealJetstream ./pkg/appview/jetstream/) ||
			die "the Jetstream consumer's integration test failed"
	fi
	up
	local rc=0 t1
	t1=$(now_ms)
	# The namespace has no route out: no module downloads in there. The
	# caller's GOFLAGS stay (make's -trimpath: the same compile as the check
	# above, not a second one).
	in_ns env GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=readonly -buildvcs=false" GOPROXY=off go test -tags e2e -count=1 -v "$@" ./test/e2e/... || rc=$?
	log "go test finished with status $rc in $(elapsed "$t1") s (e2e.sh total $(elapsed "$START") s)"
	exit $rc
}

# attach finds the namespace of a stack started with `up` for exec/down.
attach() {
	local pid name needle
	[[ -f "$PIDFILE" ]] || die "no e2e stack is running (start one with: $0 up)"
	while read -r pid name needle; do
		[[ "$name" == netns ]] && pid_matches "$pid" "$needle" && set_namespace "$pid"
	done <"$PIDFILE"
	[[ -n "$NS_PID" ]] || die "the e2e stack in $PIDFILE is not running (clean up with: $0 down)"
}

# signal_gc NAME sends SIGUSR2 (collect now) to the running stack's hold NAME,
# found in the pid file, so a recycled PID is never signalled.
signal_gc() {
	local target=$1 pid name needle
	[[ "$target" == hold || "$target" == private-hold ]] || die "gc: unknown hold $target (hold or private-hold)"
	[[ -f "$PIDFILE" ]] || die "no e2e stack is running (start one with: $0 up)"
	while read -r pid name needle; do
		if [[ "$name" == "$target" ]] && pid_matches "$pid" "$needle"; then
			kill -USR2 "$pid"
			log "GC requested from $target (pid $pid); it logs \"GC finished\" to $(service_log "$target")"
			return 0
		fi
	done <"$PIDFILE"
	die "$target is not running (pids in $PIDFILE)"
}

main() {
	local cmd=${1:-test}
	(($#)) && shift
	case "$cmd" in
	test) run_tests "$@" ;;
	cluster)
		CLUSTER=1
		(($#)) || set -- -run '^TestCluster'
		run_tests "$@"
		;;
	restart)
		(($# == 1)) || die "usage: $0 restart appview-a|appview-b"
		attach
		restart_cluster_appview "$1"
		;;
	compose) compose_run_tests "$@" ;;
	run)
		[[ "${1:-}" == -- ]] && shift
		(($#)) || die "usage: $0 run -- CMD..."
		up
		local rc=0
		in_ns "$@" || rc=$?
		exit $rc
		;;
	shell)
		up
		log "shell inside the namespace; the stack stops when it exits"
		# shellcheck disable=SC2016 # PS1 is expanded by the inner shell
		printf '. %q\n[ -f ~/.bashrc ] && . ~/.bashrc\n. %q\nPS1="(atcr-e2e) $PS1"\n' \
			"$ENV_FILE" "$ENV_FILE" >"$STATE/shellrc"
		local rc=0
		"${RUN_IN[@]}" bash --rcfile "$STATE/shellrc" -i || rc=$?
		exit $rc
		;;
	up)
		up
		PIDS=() # handed over to `down`
		trap - EXIT INT TERM
		log "running; use: $0 exec -- CMD...   and   $0 down"
		;;
	exec)
		[[ "${1:-}" == -- ]] && shift
		(($#)) || die "usage: $0 exec -- CMD..."
		attach
		in_ns "$@"
		;;
	gc)
		signal_gc "${1:-hold}"
		;;
	down)
		if stop_pidfile "$PIDFILE"; then
			rm -f "$PIDFILE"
			remove_cluster_tmp
			log "stopped"
		else
			exit 1
		fi
		;;
	*) die "usage: $0 [test [GO TEST ARGS]] | compose [TEST] | cluster [GO TEST ARGS] | restart appview-a|appview-b | run -- CMD... | shell | up | exec -- CMD... | gc [hold|private-hold] | down" ;;
	esac
}

main "$@"
