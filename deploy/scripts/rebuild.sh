#!/usr/bin/env bash
# rebuild.sh [REF] updates /opt/atcr, rebuilds the images and restarts the
# stack through the systemd unit `atcr`. Installed as /opt/atcr/rebuild.sh.
#   rebuild.sh        on a branch: git pull --ff-only
#   rebuild.sh REF    git fetch, then check out REF (a branch, tag or commit)
# A checkout pinned to a tag or commit (ATCR_REF) needs REF. /opt/atcr/.env
# is not in the repository and is never touched; after an update compare it
# with deploy/.env.example (or let atcr-deploy add the new keys).
set -euo pipefail
ATCR_DIR="${ATCR_DIR:-/opt/atcr}"
compose=(docker compose -f "$ATCR_DIR/deploy/docker-compose.prod.yml" --env-file "$ATCR_DIR/.env" -p atcr)
git=(git -C "$ATCR_DIR")

if (($#)); then
	echo "[rebuild] git fetch and check out $1 in $ATCR_DIR"
	"${git[@]}" fetch --tags --quiet origin
	"${git[@]}" checkout --quiet "$1"
	if "${git[@]}" symbolic-ref --quiet HEAD >/dev/null; then
		"${git[@]}" pull --ff-only
	fi
elif "${git[@]}" symbolic-ref --quiet HEAD >/dev/null; then
	echo "[rebuild] git pull --ff-only in $ATCR_DIR"
	"${git[@]}" pull --ff-only
else
	echo "[rebuild] $ATCR_DIR is pinned to $("${git[@]}" rev-parse --short HEAD) (not a branch): give the tag or commit to move to, e.g. $0 v1.2.0" >&2
	exit 2
fi
echo "[rebuild] now at $("${git[@]}" rev-parse --short HEAD)"
echo "[rebuild] building images"
"${compose[@]}" build
echo "[rebuild] restarting atcr"
systemctl restart atcr
"${compose[@]}" ps
