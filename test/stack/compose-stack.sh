# shellcheck shell=bash
# The production compose stack in the e2e namespace: `test/stack/e2e.sh compose`
# (part of make e2e). Sourced by e2e.sh after docker-lib.sh; uses e2e.sh's
# namespace, PDS/PLC and environment file.
#
#   1. On the host: a private dockerd builds the stand-in bases (once; cached in
#      var/docker) and the REAL Dockerfile.appview and Dockerfile.hold on them
#      (--network host: the namespace has no route to the module proxy).
#   2. In the namespace: dockerd again (same data root), then
#      deploy/docker-compose.prod.yml with an env file made from
#      deploy/.env.example (APPVIEW_DOMAIN=atcr.internal, HOLD_DOMAIN=hold.test,
#      HOLD_OWNER=alice's DID, the hold's embedded S3 behind s3.hold.test), plus
#      test/stack/compose/docker-compose.e2e.yml, which only makes the
#      containers trust Caddy's internal CA and points Caddy at the test's
#      drop-ins (test/stack/caddy: local_certs, pds.test, plc.test, ...).
#      atcr-caddy starts first so its CA exists; dockerd is then restarted
#      with SSL_CERT_FILE naming the bundle, so that `docker push` trusts it.
#   3. go test -tags e2e,compose -run TestCompose ./test/e2e/ inside.

COMPOSE_FILE="$ROOT/deploy/docker-compose.prod.yml"
COMPOSE_OVERRIDE="$STACK_DIR/compose/docker-compose.e2e.yml"
COMPOSE_ENV="$STATE/compose.env"
COMPOSE_PROJECT=atcr
COMPOSE_UP=0

# compose_cmd ARGS... runs docker-compose (v1, Debian's) on the production file.
compose_cmd() {
	DOCKER_HOST="unix://$DOCKER_SOCK" "$COMPOSE_CLI" -f "$COMPOSE_FILE" -f "$COMPOSE_OVERRIDE" \
		--env-file "$COMPOSE_ENV" -p "$COMPOSE_PROJECT" "$@"
}

# set_env_value FILE NAME VALUE sets NAME=VALUE in an env file made from the
# example, failing when the example has no such line (the example's names are
# the contract).
set_env_value() {
	local file=$1 name=$2 value=$3
	grep -q "^$name=" "$file" || die "deploy/.env.example has no $name= line"
	local line
	line=$(printf '%s=%s' "$name" "$value")
	awk -v n="$name" -v l="$line" 'index($0, n "=") == 1 { print l; next } { print }' "$file" >"$file.tmp"
	mv "$file.tmp" "$file"
}

write_compose_env() {
	cp "$ROOT/deploy/.env.example" "$COMPOSE_ENV"
	local kv
	for kv in "$@"; do
		set_env_value "$COMPOSE_ENV" "${kv%%=*}" "${kv#*=}"
	done
	chmod 0600 "$COMPOSE_ENV"
}

compose_preflight() {
	"$STACK_DIR/install.sh"
	require_node_modules
	require_binaries
	[[ -x "$ROOT/bin/docker-credential-atcr" ]] || die "bin/docker-credential-atcr is missing: run make build"
	[[ $(id -u) == 0 ]] || die "the compose stack needs root (dockerd, unshare --mount --net)"
	if previous_stack_running "$PIDFILE"; then
		die "an e2e stack is already running (pids in $PIDFILE): stop it with test/stack/e2e.sh down"
	fi
	if [[ -d "$STATE" ]]; then
		find "$STATE" -mindepth 1 -maxdepth 1 ! -name screenshots -exec rm -rf {} +
	fi
	rm -f "$PIDFILE"
	mkdir -p "$STATE" "$LOG_DIR"
	: >"$PIDFILE"
	docker_install
}

# compose_build: phase 1, on the host.
compose_build() {
	local t0
	t0=$(now_ms)
	start_dockerd
	build_bases
	# Caddy's base (apt-get in a container: network and dpkg) beside the
	# image builds (mostly links): they overlap well on two cores.
	local caddy_pid
	build_caddy_base &
	caddy_pid=$!
	build_images
	wait "$caddy_pid" || die "the Caddy base failed to build"
	stop_pid "$DOCKERD_PID" dockerd
	log "images built in $(elapsed "$t0") s (bases cached in var/docker)"
}

compose_up() {
	T0=$(now_ms)
	compose_preflight
	trap on_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	compose_build
	local t1
	t1=$(now_ms)
	start_namespace
	start_dockerd "${NS[@]}"
	COMPOSE_UP=1
	# The test's values in the operator's file. The hold's S3 is its embedded
	# server on 127.0.0.1:9000, reached by clients through s3.hold.test and
	# blobs.test (Caddy forwards the origin's Host, like a pull zone).
	write_compose_env \
		APPVIEW_DOMAIN=atcr.internal HOLD_DOMAIN=hold.test ATCR_ACME_EMAIL=e2e@atcr.internal \
		HOLD_OWNER=did:plc:pending HOLD_PUBLIC=true HOLD_ALLOW_ALL_CREW=true \
		AWS_REGION=us-east-1 S3_BUCKET=atcr-e2e S3_ENDPOINT= S3_PATH_STYLE=true \
		S3_PULL_ZONE_URL=https://blobs.test HOLD_EMBEDDED_S3_ADDR=127.0.0.1:9000 \
		S3_PUBLIC_ENDPOINT=https://s3.hold.test ATCR_PLC_URL=https://plc.test \
		ATCR_PRIVATE_HOSTS="plc.test pds.test *.pds.test hold.test s3.hold.test" \
		ATCR_LOG_LEVEL="$LOG_LEVEL" ATCR_CADDY_OVERLAY_DIR="$STACK_DIR/caddy" VERSION=e2e \
		CADDY_IMAGE="$BASE_CADDY" GO_IMAGE="$(base_go_tag)" RUNTIME_IMAGE="$BASE_DEBIAN"
	echo "E2E_CA_BUNDLE=$BUNDLE" >>"$COMPOSE_ENV"
	# Leftovers of an interrupted run (the data root survives between runs).
	compose_cmd down -v --remove-orphans >>"$LOG_DIR/compose.log" 2>&1 || true
	: >"$BUNDLE" # mounted into the containers; filled once Caddy's CA exists
	compose_cmd up -d atcr-caddy >>"$LOG_DIR/compose.log" 2>&1 || die "compose up atcr-caddy failed (log: $LOG_DIR/compose.log)"
	local root="$STATE/caddy-root.crt" i
	for ((i = 0; i < 200; i++)); do
		docker_cmd exec atcr-caddy cat /data/caddy/pki/authorities/local/root.crt >"$root" 2>/dev/null && [[ -s "$root" ]] && break
		sleep 0.1
	done
	[[ -s "$root" ]] || die "atcr-caddy made no internal CA (docker logs atcr-caddy)"
	cat "$SYSTEM_CAS" "$root" >"$BUNDLE"
	# Where the browser tests' trust store (browser_test.go) reads Caddy's root.
	mkdir -p "$(dirname "$CADDY_ROOT")" && cp "$root" "$CADDY_ROOT"
	# dockerd reads the trust store when it first needs it, and keeps it: restart
	# it with the bundle. Caddy's CA survives on its volume (caddy_data).
	compose_cmd stop >>"$LOG_DIR/compose.log" 2>&1
	stop_pid "$DOCKERD_PID" dockerd
	start_dockerd "${NS[@]}" env SSL_CERT_FILE="$BUNDLE"
	compose_cmd up -d atcr-caddy >>"$LOG_DIR/compose.log" 2>&1 || die "compose up atcr-caddy failed (log: $LOG_DIR/compose.log)"
	wait_http atcr-caddy https://plc.test/ 30 '[1-5][0-9][0-9]' "$DOCKERD_PID"
	log "atcr-caddy up with its internal CA ($(elapsed "$t1") s)"

	local accounts="$STATE/accounts.json"
	start_service pds pds.mjs "${RUN_IN[@]}" \
		"$NODE22" "$STACK_DIR/pds.mjs" --mode e2e --data "$STATE/pds" --out "$accounts"
	local pid=$SERVICE_PID
	wait_file pds "$accounts" 60 "$pid"
	wait_http pds https://pds.test/xrpc/com.atproto.server.describeServer 10 200 "$pid"
	log "PLC and PDS up ($(elapsed "$t1") s)"

	set_env_value "$COMPOSE_ENV" HOLD_OWNER "$(json_get "$accounts" 'j.accounts[0].did')"
	compose_cmd up -d >>"$LOG_DIR/compose.log" 2>&1 || die "compose up failed (log: $LOG_DIR/compose.log)"
	wait_http atcr-hold https://hold.test/xrpc/_health 90 200 "$DOCKERD_PID"
	wait_http atcr-appview https://atcr.internal/health 90 200 "$DOCKERD_PID"
	log "compose stack up: atcr-caddy, atcr-hold, atcr-appview ($(elapsed "$t1") s; total $(elapsed "$T0") s)"
	write_stack_env
	{
		echo "export DOCKER_HOST='unix://$DOCKER_SOCK'"
		echo "export ATCR_DOCKER_CLI='$DOCKER_CLI'"
		echo "export ATCR_COMPOSE_ENV='$COMPOSE_ENV'"
	} >>"$ENV_FILE"
}

# compose_down takes the stack and its volumes down while dockerd still runs;
# the containers' logs are kept next to the services' logs first.
compose_down() {
	((COMPOSE_UP)) || return 0
	local c
	for c in atcr-caddy atcr-appview atcr-hold; do
		docker_cmd logs "$c" >"$LOG_DIR/container-$c.log" 2>&1 || true
	done
	compose_cmd down -v --remove-orphans >>"$LOG_DIR/compose.log" 2>&1 || log "WARNING: compose down failed (log: $LOG_DIR/compose.log)"
	COMPOSE_UP=0
}

compose_run_tests() {
	log "compiling the compose test"
	(cd "$ROOT" && go test -tags e2e,compose -count=1 -run '^$' ./test/e2e/... >/dev/null) ||
		die "the e2e tests do not compile: cd $ROOT && go vet -tags e2e,compose ./test/e2e/..."
	compose_up
	local rc=0 t1
	t1=$(now_ms)
	in_ns env GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=readonly -buildvcs=false" GOPROXY=off \
		go test -tags e2e,compose -count=1 -v -run "${1:-TestCompose}" ./test/e2e/ || rc=$?
	log "compose test finished with status $rc in $(elapsed "$t1") s (e2e.sh compose total $(elapsed "$START") s)"
	exit $rc
}
