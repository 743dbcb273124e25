# shellcheck shell=bash
# The cluster shape's shared pieces (sourced by e2e.sh for `e2e.sh cluster` and by
# cluster.sh, the loopback launcher): PostgreSQL 15 and Redis from Debian's packages
# on temporary data directories, run as their unprivileged system users, and the
# AppViews' shared identity (docs/cluster.md, "Keys"). Sourced after lib.sh;
# services start through start_service, so the caller's pid file stops them.

PG_BIN=/usr/lib/postgresql/15/bin

# The files under server.data_dir that make an AppView who it is: the registry
# token signing key (pkg/appview/auth) and the OAuth client key (pkg/appview/appoauth).
# Every AppView of a cluster must have the same ones: a token issued by one is
# verified by another, and the PDS checks client assertions against the one JWKS
# that client metadata (served by any instance) names.
APPVIEW_SHARED_KEYS=(auth/token-key.pem oauth/client-key.mb)

# require_cluster_engines fails unless PostgreSQL 15 and redis-server are installed.
require_cluster_engines() {
	[[ -x "$PG_BIN/postgres" ]] || die "PostgreSQL 15 is missing: run test/stack/install.sh (apt-get install -y postgresql-15)"
	command -v redis-server >/dev/null || die "redis-server is missing: run test/stack/install.sh (apt-get install -y redis-server)"
	id postgres >/dev/null 2>&1 || die "the postgres system user is missing (it comes with Debian's postgresql package)"
}

# as_user USER CMD... runs CMD as USER (setpriv execs, so a service keeps its PID
# and receives the stop signal itself).
as_user() {
	local user=$1
	shift
	setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups "$@"
}

# start_postgres DIR PORT creates a database cluster in DIR (owned by the postgres
# user, trust authentication for the superuser atcr on 127.0.0.1 only), starts it on
# 127.0.0.1:PORT through RUN_IN, waits for it and creates the database atcr. Durability
# is off (fsync, synchronous_commit): the data is thrown away with the stack.
# Sets PG_URL.
start_postgres() {
	local dir=$1 port=$2 t1
	t1=$(now_ms)
	mkdir -p "$dir"
	chown postgres: "$dir"
	chmod 700 "$dir"
	(cd / && as_user postgres "$PG_BIN/initdb" -D "$dir/data" -U atcr -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$(service_log postgres-initdb)" 2>&1) ||
		die "initdb failed (log: $(service_log postgres-initdb))"
	start_service postgres "$dir/data" "${RUN_IN[@]}" setpriv --reuid=postgres --regid="$(id -g postgres)" --init-groups \
		"$PG_BIN/postgres" -D "$dir/data" -p "$port" -c listen_addresses=127.0.0.1 \
		-c unix_socket_directories="$dir" -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
		-c max_connections=200 -c shared_buffers=64MB
	local pid=$SERVICE_PID deadline=$(($(date +%s) + 30))
	until "${RUN_IN[@]}" "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port"; do
		pid_alive "$pid" || die "postgres exited (log: $(service_log postgres))"
		(($(date +%s) < deadline)) || die "postgres did not accept connections within 30 s (log: $(service_log postgres))"
		sleep 0.1
	done
	"${RUN_IN[@]}" "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U atcr atcr || die "createdb atcr failed"
	# shellcheck disable=SC2034 # read by the scripts that source this
	PG_URL="postgres://atcr@127.0.0.1:$port/atcr?sslmode=disable"
	log "PostgreSQL up on 127.0.0.1:$port, data in $dir ($(elapsed "$t1") s)"
}

# start_redis DIR PORT starts redis-server as the redis user on 127.0.0.1:PORT
# through RUN_IN, without persistence (no RDB, no AOF), and waits for PING.
# Sets REDIS_URL.
start_redis() {
	local dir=$1 port=$2
	mkdir -p "$dir"
	chown redis: "$dir"
	start_service redis "redis-server" "${RUN_IN[@]}" setpriv --reuid=redis --regid="$(id -g redis)" --init-groups \
		redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save "" --appendonly no \
		--daemonize no --loglevel warning
	local pid=$SERVICE_PID deadline=$(($(date +%s) + 20))
	until [[ "$("${RUN_IN[@]}" redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" == PONG ]]; do
		pid_alive "$pid" || die "redis-server exited (log: $(service_log redis))"
		(($(date +%s) < deadline)) || die "redis-server did not answer PING within 20 s (log: $(service_log redis))"
		sleep 0.1
	done
	# shellcheck disable=SC2034 # read by the scripts that source this
	REDIS_URL="redis://127.0.0.1:$port/0"
	log "Redis up on 127.0.0.1:$port"
}

# share_appview_keys FROM_DATA_DIR TO_DATA_DIR... copies the identity files of an
# AppView that has started once (it creates them) into the data directories of the
# others, before they start: the cluster's one identity (docs/cluster.md). The
# token key always exists; the OAuth client key only for a confidential client
# (an https base_url: a loopback AppView is a public OAuth client without one).
share_appview_keys() {
	local from=$1 to f
	shift
	[[ -s "$from/${APPVIEW_SHARED_KEYS[0]}" ]] || die "$from/${APPVIEW_SHARED_KEYS[0]} is missing: the first AppView did not create its keys"
	for to in "$@"; do
		for f in "${APPVIEW_SHARED_KEYS[@]}"; do
			[[ -s "$from/$f" ]] || continue
			install -d -m 700 "$(dirname "$to/$f")"
			install -m 600 "$from/$f" "$to/$f"
		done
	done
}
