#!/usr/bin/env bash
# The cluster shape on loopback, plain HTTP (for benchmarks and trying it out;
# `make run` stays the single-process stack, test/stack/e2e.sh cluster is the
# namespaced TLS version the tests use):
#   PLC http://127.0.0.1:2582, PDS http://127.0.0.1:2583 (alice.test, bob.test),
#   Jetstream ws://127.0.0.1:6008, hold http://127.0.0.1:8080 (embedded S3 127.0.0.1:9000),
#   PostgreSQL (Debian's) 127.0.0.1:15432 (database atcr, user atcr, trust auth on loopback),
#   Redis 127.0.0.1:16379,
#   AppViews appview-1 … appview-N on 127.0.0.1:5001 … 500N (N = CLUSTER_APPVIEWS, default 2),
#   Caddy on http://127.0.0.1:5000: round robin over the AppViews, no stickiness.
# CLUSTER_SHARED=0 (only with CLUSTER_APPVIEWS=1) leaves PostgreSQL and Redis out: one
# AppView on its own SQLite database and in-memory state behind the same Caddy, which
# is make run's single node behind a load balancer — the baseline bench/run.sh
# --mixed-cluster measures the cluster against, so that figure is the shared state's
# cost apart from the load balancer's.
# The registry's address is 127.0.0.1:5000, as with `make run`. Every AppView has the
# same keys (copied from appview-1's data directory before the others start) and
# gets ATCR_DATABASE_URL and ATCR_REDIS_URL. PostgreSQL and Redis run as their
# unprivileged system users with data in a temporary directory, removed at stop.
# State lives in var/cluster (wiped at every start); pids in var/cluster.pids.
#
#   test/stack/cluster.sh                foreground: follows the logs, Ctrl-C stops everything
#   test/stack/cluster.sh --background   start, write var/cluster/stack.env, return
#   test/stack/cluster.sh stop           stop a background cluster (also: test/stack/stop.sh cluster)
#
# Root is needed (PostgreSQL and Redis are started as the postgres and redis users).
set -euo pipefail
STACK_LOG_TAG=cluster
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=cluster-lib.sh
. "$STACK_DIR/cluster-lib.sh"
trap '' PIPE

STATE="$ROOT/var/cluster"
PIDFILE="$ROOT/var/cluster.pids"
LOG_DIR="$STATE/logs"
ENV_FILE="$STATE/stack.env"
TMP_RECORD="$ROOT/var/cluster.tmpdir" # outside STATE: stop must find it after a wipe
PLC_URL=http://127.0.0.1:2582
PDS_URL=http://127.0.0.1:2583
HOLD_URL=http://localhost:8080
HOLD_DID='did:web:localhost%3A8080'
S3_ENDPOINT=http://127.0.0.1:9000
LB_ADDR=127.0.0.1:5000
JETSTREAM_ADDR=127.0.0.1:6008
PG_PORT=15432
REDIS_PORT=16379
APPVIEWS=${CLUSTER_APPVIEWS:-2}
SHARED=${CLUSTER_SHARED:-1}
PG_URL="" REDIS_URL=""
LOG_LEVEL=${STACK_LOG_LEVEL:-info}

T0=$(now_ms)
TAIL_PID=""

appview_addr() { echo "127.0.0.1:$((5000 + $1))"; }

# remove_tmp removes the PostgreSQL/Redis data directory once they have stopped.
remove_tmp() {
	[[ -f "$TMP_RECORD" ]] || return 0
	local tmp
	tmp=$(cat "$TMP_RECORD")
	[[ "$tmp" == */atcr-cluster.* && -d "$tmp" ]] && rm -rf "$tmp"
	rm -f "$TMP_RECORD"
}

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[[ -n "$TAIL_PID" ]] && { kill "$TAIL_PID" 2>/dev/null || true; wait "$TAIL_PID" 2>/dev/null || true; }
	if ((${#PIDS[@]})); then
		log "stopping the cluster"
		if stop_services; then
			remove_tmp
			log "stopped: no process left"
		else
			log "some processes did not stop; see above"
			rc=1
		fi
	fi
	exit "$rc"
}

stop_cluster() {
	if stop_pidfile "$PIDFILE"; then
		rm -f "$PIDFILE"
		remove_tmp
		log "cluster stopped"
	else
		exit 1
	fi
}

preflight() {
	[[ $(id -u) == 0 ]] || die "the cluster launcher needs root (PostgreSQL and Redis run as their own users)"
	[[ "$APPVIEWS" =~ ^[1-9]$ ]] || die "CLUSTER_APPVIEWS must be 1 to 9"
	[[ "$SHARED" == 0 || "$SHARED" == 1 ]] || die "CLUSTER_SHARED must be 0 or 1"
	((SHARED || APPVIEWS == 1)) || die "CLUSTER_SHARED=0 needs CLUSTER_APPVIEWS=1: AppViews without shared state are not a cluster"
	"$STACK_DIR/install.sh"
	require_node_modules
	require_binaries
	((SHARED)) && require_cluster_engines
	command -v caddy >/dev/null || die "caddy is missing: run test/stack/install.sh"
	if previous_stack_running "$PIDFILE"; then
		die "a cluster is already running (pids in $PIDFILE): stop it with $0 stop"
	fi
	local port ports=(2582 2583 6008 8080 9000 5000 "$PG_PORT" "$REDIS_PORT") i
	for ((i = 1; i <= APPVIEWS; i++)); do ports+=("$((5000 + i))"); done
	for port in "${ports[@]}"; do
		port_busy 127.0.0.1 "$port" && die "127.0.0.1:$port is already in use; the cluster needs ports ${ports[*]} (is make run's stack up? test/stack/stop.sh)"
	done
	remove_tmp
	rm -rf "$STATE" "$PIDFILE"
	mkdir -p "$STATE" "$LOG_DIR"
	: >"$PIDFILE"
}

write_hold_yaml() {
	cat >"$STATE/hold.yaml" <<EOF
# Written by test/stack/cluster.sh; rewritten at every start.
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

# write_appview_yaml I: appview-I's config. Every AppView has the load balancer's
# address as its base_url: that is the one the clients see.
write_appview_yaml() {
	cat >"$STATE/appview-$1.yaml" <<EOF
# Written by test/stack/cluster.sh; rewritten at every start.
# database and Redis: ATCR_DATABASE_URL and ATCR_REDIS_URL in the environment.
log:
  level: $LOG_LEVEL
insecure_local_dev: true
server:
  addr: $(appview_addr "$1")
  base_url: http://$LB_ADDR
  data_dir: $STATE/appview-$1
  shutdown_timeout: 5s
  shutdown_drain: 2s
  default_hold_did: "$HOLD_DID"
identity:
  plc_url: $PLC_URL
  handle_resolver_url: $PDS_URL
jetstream:
  url: ws://$JETSTREAM_ADDR
EOF
}

write_caddyfile() {
	local upstreams="" i
	for ((i = 1; i <= APPVIEWS; i++)); do upstreams+=" $(appview_addr "$i")"; done
	cat >"$STATE/Caddyfile" <<EOF
# Written by test/stack/cluster.sh: the load balancer of deploy/Caddyfile's
# AppView site, on plain HTTP, with the active health check docs/cluster.md
# adds for several AppViews (they drain on shutdown: shutdown_drain).
{
	admin off
	auto_https off
	storage file_system $STATE/caddy-data
}

http://$LB_ADDR {
	bind 127.0.0.1
	reverse_proxy$upstreams {
		lb_policy round_robin
		lb_try_duration 5s
		lb_try_interval 100ms
		flush_interval -1
		health_uri /health
		health_interval 1s
		health_timeout 1s
	}
}
EOF
}

start_appview() {
	start_service "appview-$1" "appview-$1.yaml" env ATCR_DATABASE_URL="$PG_URL" ATCR_REDIS_URL="$REDIS_URL" \
		"$APPVIEW_BIN" serve --config "$STATE/appview-$1.yaml"
	wait_http "appview-$1" "http://$(appview_addr "$1")/health" 30 200 "$SERVICE_PID"
}

start_cluster() {
	local accounts="$STATE/accounts.json" tmp i
	start_service pds pds.mjs "$NODE22" "$STACK_DIR/pds.mjs" --mode local --data "$STATE/pds" --out "$accounts" --plc-multikey-docs
	local pds_pid=$SERVICE_PID
	# PostgreSQL and Redis start while the PDS does.
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/atcr-cluster.$(basename "$ROOT").XXXXXX") # named after the checkout: several may run
	chmod 755 "$tmp"
	echo "$tmp" >"$TMP_RECORD"
	if ((SHARED)); then
		start_postgres "$tmp/postgres" "$PG_PORT"
		start_redis "$tmp/redis" "$REDIS_PORT"
	fi

	wait_file pds "$accounts" 60 "$pds_pid"
	wait_http pds "$PLC_URL/_health" 10 200 "$pds_pid"
	wait_http pds "$PDS_URL/xrpc/com.atproto.server.describeServer" 10 200 "$pds_pid"
	log "PLC and PDS up ($(elapsed "$T0") s)"

	ALICE_DID=$(json_get "$accounts" 'j.accounts[0].did')
	start_jetstream_service "$JETSTREAM_ADDR" "$PDS_URL" "$PLC_URL" "$STATE/jetstream" \
		"$ALICE_DID" "$(json_get "$accounts" 'j.accounts[1].did')"
	log "Jetstream up ($(elapsed "$T0") s)"
	write_hold_yaml "$ALICE_DID"
	start_service hold hold.yaml "$HOLD_BIN" serve --config "$STATE/hold.yaml"
	local hold_pid=$SERVICE_PID
	wait_http hold "$HOLD_URL/xrpc/_health" 30 200 "$hold_pid"
	wait_http hold "$S3_ENDPOINT/" 30 '[1-5][0-9][0-9]' "$hold_pid"
	log "hold up ($(elapsed "$T0") s)"

	# appview-1 first: it creates the keys the others get a copy of.
	for ((i = 1; i <= APPVIEWS; i++)); do write_appview_yaml "$i"; done
	start_appview 1
	for ((i = 2; i <= APPVIEWS; i++)); do
		share_appview_keys "$STATE/appview-1" "$STATE/appview-$i"
		start_appview "$i"
	done
	write_caddyfile
	start_service caddy "$STATE/Caddyfile" env HOME="$STATE/caddy-home" XDG_DATA_HOME="$STATE/caddy-home" XDG_CONFIG_HOME="$STATE/caddy-home" \
		caddy run --config "$STATE/Caddyfile" --adapter caddyfile
	wait_http caddy "http://$LB_ADDR/health" 30 200 "$SERVICE_PID"
	log "$APPVIEWS AppView(s) up behind the load balancer ($( ((SHARED)) && echo "PostgreSQL and Redis" || echo "no shared state: SQLite, in-memory"); $(elapsed "$T0") s)"
}

write_stack_env() {
	local a="$STATE/accounts.json" i addrs=()
	for ((i = 1; i <= APPVIEWS; i++)); do addrs+=("$(appview_addr "$i")"); done
	write_env_file "$ENV_FILE" \
		ATCR_STACK_MODE=cluster \
		ATCR_STACK_DIR="$STATE" \
		ATCR_REGISTRY="$LB_ADDR" \
		ATCR_REGISTRY_SCHEME=http \
		ATCR_APPVIEW_URL="http://$LB_ADDR" \
		ATCR_APPVIEW_ADDRS="${addrs[*]}" \
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
		ATCR_JETSTREAM_URL="ws://$JETSTREAM_ADDR" \
		ATCR_DATABASE_URL="$PG_URL" \
		ATCR_REDIS_URL="$REDIS_URL" \
		ATCR_STACK_PIDFILE="$PIDFILE"
}

banner() {
	# shellcheck disable=SC1090
	. "$ENV_FILE"
	cat >&2 <<EOF

ATCR cluster is up in $(elapsed "$T0") s
  registry  $ATCR_APPVIEW_URL   (Caddy, round robin over $ATCR_APPVIEW_ADDRS)
  database  ${ATCR_DATABASE_URL:-SQLite in var/cluster/appview-1 (CLUSTER_SHARED=0)}
  redis     ${ATCR_REDIS_URL:-none (CLUSTER_SHARED=0)}
  hold      $ATCR_HOLD_URL   ($ATCR_HOLD_DID, embedded S3 $ATCR_S3_ENDPOINT)
  PDS       $ATCR_PDS_URL   PLC $ATCR_PLC_URL   Jetstream $ATCR_JETSTREAM_URL
  accounts  $ATCR_USERNAME ($ATCR_DID), $ATCR_USERNAME2 ($ATCR_DID2)
  pids      $PIDFILE ("PID NAME NEEDLE" per line)

  bin/tools/crane auth login $ATCR_REGISTRY -u $ATCR_USERNAME -p $ATCR_PASSWORD
  . var/cluster/stack.env      # every URL, DID and password above, as ATCR_* variables
  logs: var/cluster/logs/*.log

EOF
}

main() {
	case "${1:-}" in
	stop)
		stop_cluster
		exit 0
		;;
	--background | -d) DETACH=1 ;;
	"") DETACH=${STACK_DETACH:-0} ;;
	*) die "usage: $0 [--background | stop]" ;;
	esac
	preflight
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	start_cluster
	write_stack_env
	banner
	if ((DETACH)); then
		log "running in the background; stop it with $0 stop (pids in ${PIDFILE#"$ROOT"/})"
		PIDS=()
		trap - EXIT INT TERM
		exit 0
	fi
	log "Ctrl-C stops the cluster; following the logs"
	tail -n +1 -F "$LOG_DIR"/*.log &
	TAIL_PID=$!
	local rc=0
	wait -n "${PIDS[@]}" || rc=$?
	log "a service exited (status $rc): stopping the rest"
	exit 1
}

main "$@"
