# shellcheck shell=bash
# The cluster shape of the end-to-end stack (test/stack/e2e.sh cluster), sourced by
# e2e.sh. Inside the same namespace as the ordinary stack:
#
#   https://atcr.internal ─► Caddy (round robin, no stickiness) ─► appview-a 127.0.0.1:5000
#                                                               └► appview-b 127.0.0.1:5001
#   https://atcr.internal via 127.0.0.1:8443 / :8444 ─► appview-a / appview-b alone
#   both AppViews ─► PostgreSQL 15 127.0.0.1:5432 and Redis 127.0.0.1:6379 (Debian's
#                    packages, unprivileged users, data in a temporary directory)
#   holds: hold.test (the default), private-hold.test, retiring-hold.test (its captain
#   names hold.test as its successor)
#
# The AppViews share one identity: appview-a starts first and creates its keys,
# which are copied into appview-b's data directory before it starts
# (cluster-lib.sh: share_appview_keys). Database and Redis reach both through the
# agreed environment variables ATCR_DATABASE_URL and ATCR_REDIS_URL.

# shellcheck source=cluster-lib.sh
. "$STACK_DIR/cluster-lib.sh"

CLUSTER_PG_PORT=5432
CLUSTER_REDIS_PORT=6379
# name → listen address; the Caddy sites that reach each one alone are in
# test/stack/caddy/sites-e2e.caddy (atcr.internal:8443, :8444).
declare -A CLUSTER_APPVIEW_ADDR=([appview-a]=127.0.0.1:5000 [appview-b]=127.0.0.1:5001)
declare -A CLUSTER_APPVIEW_DIRECT=([appview-a]=127.0.0.1:8443 [appview-b]=127.0.0.1:8444)
# shellcheck disable=SC2034 # read by e2e.sh
CLUSTER_UPSTREAMS="127.0.0.1:5000 127.0.0.1:5001"
RETIRING_HOLD_DID=did:web:retiring-hold.test
# Where PostgreSQL's and Redis's data live: a fresh temporary directory per stack,
# named in this file so that `down` (another process) can remove it.
CLUSTER_TMP_FILE="$STATE/cluster-tmpdir"

# The cluster's extra names: the retiring hold, and handles of accounts
# TestClusterHolds creates (the namespace has no DNS, so a handle resolves only
# when /etc/hosts names it).
cluster_hostnames() { echo retiring-hold.test s3.retiring-hold.test carol.pds.test dave.pds.test erin.pds.test; }

# write_cluster_appview_yaml NAME: the config of one AppView of the pair; both are
# the stack's AppView config with their own address and data directory.
write_cluster_appview_yaml() {
	local name=$1
	cat >"$STATE/$name.yaml" <<EOF
# Written by test/stack/e2e.sh cluster (end-to-end cluster shape); rewritten at every start.
# database and Redis: ATCR_DATABASE_URL and ATCR_REDIS_URL in the environment.
log:
  level: $LOG_LEVEL
server:
  addr: ${CLUSTER_APPVIEW_ADDR[$name]}
  base_url: https://atcr.internal
  data_dir: $STATE/$name
  default_hold_did: "did:web:hold.test"
  shutdown_timeout: 5s
identity:
  plc_url: https://plc.test
  private_hosts: $PRIVATE_HOSTS
EOF
}

# write_retiring_hold_yaml OWNER_DID: a public hold whose captain record names
# hold.test as its successor. The AppViews learn that when their index reads the
# captain record (atcr-appview index backfill did:web:retiring-hold.test), which
# TestClusterHolds does after pushing to it.
write_retiring_hold_yaml() {
	cat >"$STATE/retiring-hold.yaml" <<EOF
# Written by test/stack/e2e.sh cluster; rewritten at every start.
log:
  level: $LOG_LEVEL
server:
  addr: 127.0.0.1:8082
  public_url: https://retiring-hold.test
  public: true
  data_dir: $STATE/retiring-hold
storage:
  embedded_addr: 127.0.0.1:9002
  public_endpoint: https://s3.retiring-hold.test
registration:
  owner_did: "$1"
  allow_all_crew: true
  successor: did:web:hold.test
identity:
  plc_url: https://plc.test
  private_hosts: $PRIVATE_HOSTS
EOF
}

# start_cluster_appview NAME starts one AppView of the pair (also used by
# `e2e.sh restart NAME`) and waits for its /health through its own Caddy port.
start_cluster_appview() {
	local name=$1
	start_service "$name" "$name.yaml" "${RUN_IN[@]}" JETSTREAM_URL="ws://$JETSTREAM_ADDR" \
		ATCR_DATABASE_URL="$(cat "$STATE/database-url")" ATCR_REDIS_URL="$(cat "$STATE/redis-url")" \
		"$APPVIEW_BIN" serve --config "$STATE/$name.yaml"
	wait_http "$name" "http://${CLUSTER_APPVIEW_ADDR[$name]}/health" 30 200 "$SERVICE_PID"
}

start_cluster_services() {
	local tmp accounts="$STATE/accounts.json"
	start_service pds pds.mjs "${RUN_IN[@]}" \
		"$NODE22" "$STACK_DIR/pds.mjs" --mode e2e --data "$STATE/pds" --out "$accounts" --plc-multikey-docs
	local pid=$SERVICE_PID
	# PostgreSQL and Redis start while the PDS does (it takes the longest).
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/atcr-e2e-cluster.XXXXXX")
	chmod 755 "$tmp"
	echo "$tmp" >"$CLUSTER_TMP_FILE"
	start_postgres "$tmp/postgres" "$CLUSTER_PG_PORT"
	start_redis "$tmp/redis" "$CLUSTER_REDIS_PORT"
	echo "$PG_URL" >"$STATE/database-url"
	echo "$REDIS_URL" >"$STATE/redis-url"

	wait_file pds "$accounts" 60 "$pid"
	wait_http pds https://pds.test/xrpc/com.atproto.server.describeServer 10 200 "$pid"
	wait_http pds https://plc.test/_health 10 200 "$pid"
	log "PLC and PDS up ($(elapsed "$T0") s)"

	local owner name
	owner=$(json_get "$accounts" 'j.accounts[0].did')
	start_jetstream "$owner" "$(json_get "$accounts" 'j.accounts[1].did')"
	write_hold_yaml "$owner"
	write_private_hold_yaml "$owner"
	write_retiring_hold_yaml "$owner"
	# No vulnerability database: scans are not what the cluster tests look at.
	declare -A hold_pids=()
	for name in hold private-hold retiring-hold; do
		start_service "$name" "$name.yaml" "${RUN_IN[@]}" "$HOLD_BIN" serve --config "$STATE/$name.yaml"
		hold_pids[$name]=$SERVICE_PID
	done
	wait_http hold https://hold.test/xrpc/_health 30 200 "${hold_pids[hold]}"
	wait_http private-hold https://private-hold.test/xrpc/_health 30 200 "${hold_pids[private-hold]}"
	wait_http retiring-hold https://retiring-hold.test/xrpc/_health 30 200 "${hold_pids[retiring-hold]}"
	log "holds up ($(elapsed "$T0") s)"

	# appview-a first: it creates the keys appview-b gets a copy of.
	write_cluster_appview_yaml appview-a
	write_cluster_appview_yaml appview-b
	start_cluster_appview appview-a
	share_appview_keys "$STATE/appview-a" "$STATE/appview-b"
	start_cluster_appview appview-b
	wait_http caddy https://atcr.internal/health 30 200 "$NS_PID"
	log "AppViews up behind the load balancer ($(elapsed "$T0") s)"
}

# cluster_env prints the cluster's NAME=VALUE lines for stack.env.
cluster_env() {
	echo ATCR_CLUSTER=1
	echo "ATCR_DATABASE_URL=$(cat "$STATE/database-url")"
	echo "ATCR_REDIS_URL=$(cat "$STATE/redis-url")"
	echo "ATCR_STACK_PIDFILE=$PIDFILE"
	echo "ATCR_STACK_SCRIPT=$STACK_DIR/e2e.sh"
	echo "ATCR_APPVIEW_A_DIRECT=${CLUSTER_APPVIEW_DIRECT[appview-a]}"
	echo "ATCR_APPVIEW_B_DIRECT=${CLUSTER_APPVIEW_DIRECT[appview-b]}"
	echo "ATCR_APPVIEW_A_CONFIG=$STATE/appview-a.yaml"
	echo "ATCR_APPVIEW_B_CONFIG=$STATE/appview-b.yaml"
	echo "ATCR_APPVIEW_A_LOG=$(service_log appview-a)"
	echo "ATCR_APPVIEW_B_LOG=$(service_log appview-b)"
	echo "ATCR_CADDY_UPSTREAM_LOG=$(service_log caddy-upstreams)"
	echo "ATCR_RETIRING_HOLD_URL=https://retiring-hold.test"
	echo "ATCR_RETIRING_HOLD_DID=$RETIRING_HOLD_DID"
}

# restart_cluster_appview NAME (e2e.sh restart NAME, run by a test inside the
# namespace): stops NAME if it runs, keeps its log as NAME.log.N and starts it
# again on the same data directory, recorded in the stack's pid file.
restart_cluster_appview() {
	local name=$1 pid pname needle n=1
	[[ -n "${CLUSTER_APPVIEW_ADDR[$name]:-}" ]] || die "restart: unknown service $name (appview-a or appview-b)"
	while read -r pid pname needle; do
		if [[ "$pname" == "$name" ]] && pid_matches "$pid" "$needle"; then
			stop_pid "$pid" "$name"
		fi
	done <"$PIDFILE"
	while [[ -e "$(service_log "$name").$n" ]]; do n=$((n + 1)); done
	mv "$(service_log "$name")" "$(service_log "$name").$n"
	start_cluster_appview "$name"
	log "$name restarted (pid $SERVICE_PID; the previous log is $(service_log "$name").$n)"
}

# remove_cluster_tmp removes the temporary data directory of PostgreSQL and Redis
# once they have stopped.
remove_cluster_tmp() {
	[[ -f "$CLUSTER_TMP_FILE" ]] || return 0
	local tmp
	tmp=$(cat "$CLUSTER_TMP_FILE")
	[[ "$tmp" == */atcr-e2e-cluster.* && -d "$tmp" ]] && rm -rf "$tmp"
	rm -f "$CLUSTER_TMP_FILE"
}
