#!/usr/bin/env bash
# make run: the local stack on loopback, plain HTTP.
#   PLC http://127.0.0.1:2582, PDS http://127.0.0.1:2583 (accounts alice.test, bob.test),
#   Jetstream ws://127.0.0.1:6008 (v0.2.0, following the PDS; the AppView's index reads it),
#   hold http://127.0.0.1:8080 (embedded S3 on 127.0.0.1:9000), AppView http://127.0.0.1:5000.
# Both binaries run with insecure_local_dev: true. State lives in var/dev and is wiped
# at every start (the PLC keeps DIDs in memory only, so older PDS/hold state would
# name DIDs that no longer resolve).
#
#   test/stack/run.sh                 foreground: follows the logs, Ctrl-C stops everything
#   test/stack/run.sh --background    (or STACK_DETACH=1) start, write var/dev/stack.env,
#                                     return; stop later with test/stack/stop.sh
#
# The hold starts without a vulnerability database (its scans are recorded as
# skipped) unless ATCR_DEV_TEST_VULNDB=1: then it gets the TEST database of
# test fixtures that make e2e uses (one advisory, CVE-2022-38178 in Alpine's
# bind 9.18.0-r0; nothing real), so a push of such an image shows a scan.
set -euo pipefail
STACK_LOG_TAG=run
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# A dead reader of our output (`… | tee log`, then Ctrl-C) must not kill this script
# before it has stopped the services: writes fail instead.
trap '' PIPE

DETACH=${STACK_DETACH:-0}
case "${1:-}" in
--background | -d) DETACH=1 ;;
"") ;;
*) die "usage: $0 [--background]" ;;
esac

STATE="$ROOT/var/dev"
PIDFILE="$ROOT/var/dev.pids" # outside STATE: it must survive the wipe of a crashed run's state
LOG_DIR="$STATE/logs"
ENV_FILE="$STATE/stack.env"
PLC_URL=http://127.0.0.1:2582
PDS_URL=http://127.0.0.1:2583
HOLD_URL=http://localhost:8080
HOLD_DID='did:web:localhost%3A8080'
S3_ENDPOINT=http://127.0.0.1:9000
APPVIEW_ADDR=127.0.0.1:5000
JETSTREAM_ADDR=127.0.0.1:6008
LOG_LEVEL=${STACK_LOG_LEVEL:-info}

T0=$(now_ms)
TAIL_PID=""

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[[ -n "$TAIL_PID" ]] && { kill "$TAIL_PID" 2>/dev/null || true; wait "$TAIL_PID" 2>/dev/null || true; }
	if ((${#PIDS[@]})); then
		log "stopping the stack"
		if stop_services; then
			log "stopped: no process left"
		else
			log "some processes did not stop; see above"
			rc=1
		fi
	fi
	exit "$rc"
}

preflight() {
	"$STACK_DIR/install.sh"
	require_node_modules
	require_binaries
	if previous_stack_running "$PIDFILE"; then
		die "a local stack is already running (pids in $PIDFILE): stop it with test/stack/stop.sh"
	fi
	local port
	for port in 2582 2583 6008 8080 9000 5000; do
		port_busy 127.0.0.1 "$port" && die "127.0.0.1:$port is already in use; the local stack needs ports 2582 2583 6008 8080 9000 5000"
	done
	rm -rf "$STATE" "$PIDFILE"
	mkdir -p "$STATE" "$LOG_DIR"
	: >"$PIDFILE"
}

write_hold_yaml() {
	cat >"$STATE/hold.yaml" <<EOF
# Written by test/stack/run.sh (local stack); rewritten at every start.
log:
  level: $LOG_LEVEL
insecure_local_dev: true
server:
  addr: 127.0.0.1:8080
  public_url: $HOLD_URL
  public: true
  data_dir: $STATE/hold
  shutdown_timeout: 5s
storage:
  embedded_addr: 127.0.0.1:9000
registration:
  owner_did: "$1"
  allow_all_crew: true
identity:
  plc_url: $PLC_URL
  handle_resolver_url: $PDS_URL
EOF
}

write_appview_yaml() {
	cat >"$STATE/appview.yaml" <<EOF
# Written by test/stack/run.sh (local stack); rewritten at every start.
log:
  level: $LOG_LEVEL
insecure_local_dev: true
server:
  addr: $APPVIEW_ADDR
  base_url: http://$APPVIEW_ADDR
  data_dir: $STATE/appview
  # Well inside stop_pid's 10 s before SIGKILL, with the AppView's own 3 s
  # for aborting open upload sessions after it.
  shutdown_timeout: 5s
  default_hold_did: "$HOLD_DID"
identity:
  plc_url: $PLC_URL
  handle_resolver_url: $PDS_URL
jetstream:
  # The stack's own Jetstream: the web UI's index (home feed, search,
  # stars) sees records written straight to the PDS, as in production.
  url: ws://$JETSTREAM_ADDR
EOF
}

start_stack() {
	local accounts="$STATE/accounts.json"
	# --plc-multikey-docs: DID documents as plc.directory serves them, which
	# Jetstream needs to verify commits (see pds.mjs).
	start_service pds pds.mjs "$NODE22" "$STACK_DIR/pds.mjs" --mode local --data "$STATE/pds" --out "$accounts" --plc-multikey-docs
	local pds_pid=$SERVICE_PID
	wait_file pds "$accounts" 60 "$pds_pid"
	wait_http pds "$PLC_URL/_health" 10 200 "$pds_pid"
	wait_http pds "$PDS_URL/xrpc/com.atproto.server.describeServer" 10 200 "$pds_pid"
	log "PLC and PDS up ($(elapsed "$T0") s)"

	ALICE_DID=$(json_get "$accounts" 'j.accounts[0].did')
	start_jetstream_service "$JETSTREAM_ADDR" "$PDS_URL" "$PLC_URL" "$STATE/jetstream" \
		"$ALICE_DID" "$(json_get "$accounts" 'j.accounts[1].did')"
	log "Jetstream up ($(elapsed "$T0") s)"
	write_hold_yaml "$ALICE_DID"
	write_appview_yaml
	if [[ "${ATCR_DEV_TEST_VULNDB:-0}" == 1 ]]; then
		build_test_vulndb "$STATE/test-vulndb.tar.gz"
		import_test_vulndb "$STATE/test-vulndb.tar.gz" "$STATE/hold.yaml"
		log "NOTE: the hold's vulnerability database is a TEST fixture (CVE-2022-38178 in bind 9.18.0-r0 only), not real vulnerability data"
	fi
	start_service hold hold.yaml "$HOLD_BIN" serve --config "$STATE/hold.yaml"
	local hold_pid=$SERVICE_PID
	wait_http hold "$HOLD_URL/xrpc/_health" 30 200 "$hold_pid"
	wait_http hold "$S3_ENDPOINT/" 30 '[1-5][0-9][0-9]' "$hold_pid"
	log "hold up ($(elapsed "$T0") s)"

	start_service appview appview.yaml "$APPVIEW_BIN" serve --config "$STATE/appview.yaml"
	wait_http appview "http://$APPVIEW_ADDR/health" 30 200 "$SERVICE_PID"
	log "AppView up ($(elapsed "$T0") s)"
}

write_stack_env() {
	local a="$STATE/accounts.json"
	write_env_file "$ENV_FILE" \
		ATCR_STACK_MODE=local \
		ATCR_STACK_DIR="$STATE" \
		ATCR_REGISTRY="$APPVIEW_ADDR" \
		ATCR_REGISTRY_SCHEME=http \
		ATCR_APPVIEW_URL="http://$APPVIEW_ADDR" \
		ATCR_USERNAME="$(json_get "$a" 'j.accounts[0].handle')" \
		ATCR_PASSWORD="$(json_get "$a" 'j.accounts[0].appPassword')" \
		ATCR_ACCOUNT_PASSWORD="$(json_get "$a" 'j.accounts[0].password')" \
		ATCR_DID="$(json_get "$a" 'j.accounts[0].did')" \
		ATCR_USERNAME2="$(json_get "$a" 'j.accounts[1].handle')" \
		ATCR_PASSWORD2="$(json_get "$a" 'j.accounts[1].appPassword')" \
		ATCR_ACCOUNT_PASSWORD2="$(json_get "$a" 'j.accounts[1].password')" \
		ATCR_DID2="$(json_get "$a" 'j.accounts[1].did')" \
		ATCR_HOLD_URL="$HOLD_URL" \
		ATCR_HOLD_DID="$HOLD_DID" \
		ATCR_HOLD_DATA_DIR="$STATE/hold" \
		ATCR_PDS_URL="$PDS_URL" \
		ATCR_PLC_URL="$PLC_URL" \
		ATCR_S3_ENDPOINT="$S3_ENDPOINT" \
		ATCR_JETSTREAM_URL="ws://$JETSTREAM_ADDR"
}

banner() {
	# shellcheck disable=SC1090
	. "$ENV_FILE"
	cat >&2 <<EOF

ATCR local stack is up in $(elapsed "$T0") s
  AppView   $ATCR_APPVIEW_URL
  hold      $ATCR_HOLD_URL   ($ATCR_HOLD_DID, embedded S3 $ATCR_S3_ENDPOINT)
  PDS       $ATCR_PDS_URL   PLC $ATCR_PLC_URL
  Jetstream $ATCR_JETSTREAM_URL   (the AppView's index follows it)
  accounts  $ATCR_USERNAME ($ATCR_DID), $ATCR_USERNAME2 ($ATCR_DID2)

  docker login $ATCR_REGISTRY -u $ATCR_USERNAME -p $ATCR_PASSWORD
  bin/tools/crane auth login $ATCR_REGISTRY -u $ATCR_USERNAME -p $ATCR_PASSWORD
  . var/dev/stack.env      # every URL, DID and password above, as ATCR_* variables
  logs: var/dev/logs/*.log

EOF
}

main() {
	preflight
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	start_stack
	write_stack_env
	banner
	if ((DETACH)); then
		log "running in the background; stop it with test/stack/stop.sh (pids in ${PIDFILE#"$ROOT"/})"
		PIDS=() # hand the services over to stop.sh
		trap - EXIT INT TERM
		exit 0
	fi
	log "Ctrl-C stops the stack; following the logs"
	tail -n +1 -F "$LOG_DIR"/*.log &
	TAIL_PID=$!
	local rc=0
	wait -n "${PIDS[@]}" || rc=$?
	log "a service exited (status $rc): stopping the rest"
	exit 1
}

main
