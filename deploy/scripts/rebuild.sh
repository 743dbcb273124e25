#!/usr/bin/env bash
# rebuild.sh updates /opt/atcr from its remote (fast-forward only), rebuilds
# the images and restarts the stack through the systemd unit `atcr`.
# Installed as /opt/atcr/rebuild.sh. /opt/atcr/.env is not in the repository
# and is never touched; compare it with deploy/.env.example after an update
# (or let the deploy tool add new keys).
set -euo pipefail
ATCR_DIR="${ATCR_DIR:-/opt/atcr}"
compose=(docker compose -f "$ATCR_DIR/deploy/docker-compose.prod.yml" --env-file "$ATCR_DIR/.env" -p atcr)

echo "[rebuild] git pull --ff-only in $ATCR_DIR"
git -C "$ATCR_DIR" pull --ff-only
echo "[rebuild] now at $(git -C "$ATCR_DIR" rev-parse --short HEAD)"
echo "[rebuild] building images"
"${compose[@]}" build
echo "[rebuild] restarting atcr"
systemctl restart atcr
"${compose[@]}" ps
