#!/usr/bin/env bash
# logs.sh [caddy|appview|hold] [docker logs options…] follows the logs of one
# container (atcr-<service>), or of the whole compose project without a
# service. Without options it shows the last 200 lines and follows.
# Installed as /opt/atcr/logs.sh.
set -euo pipefail
ATCR_DIR="${ATCR_DIR:-/opt/atcr}"

service="${1:-all}"
if (($#)); then
	shift
fi
opts=("$@")
((${#opts[@]})) || opts=(--tail 200 --follow)

case "$service" in
caddy | appview | hold)
	exec docker logs "${opts[@]}" "atcr-$service"
	;;
all)
	exec docker compose -f "$ATCR_DIR/deploy/docker-compose.prod.yml" --env-file "$ATCR_DIR/.env" -p atcr logs "${opts[@]}"
	;;
*)
	echo "usage: $0 [caddy|appview|hold] [docker logs options…]" >&2
	exit 2
	;;
esac
