#!/usr/bin/env bash
# Stops a stack started in the background: test/stack/stop.sh [dev|e2e|cluster] (default: all).
# Reads var/dev.pids / var/e2e.pids ("PID NAME NEEDLE" per line), signals only PIDs whose
# command line still matches, last started first, and waits for each to exit.
set -euo pipefail
STACK_LOG_TAG=stop
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

modes=("$@")
((${#modes[@]})) || modes=(dev e2e cluster)
rc=0
for mode in "${modes[@]}"; do
	case "$mode" in
	dev | e2e) ;;
	cluster)
		# cluster.sh also removes PostgreSQL's and Redis's temporary data.
		[[ -f "$ROOT/var/cluster.pids" ]] && { "$STACK_DIR/cluster.sh" stop || rc=1; }
		continue
		;;
	*) die "usage: $0 [dev|e2e|cluster]" ;;
	esac
	file="$ROOT/var/$mode.pids"
	[[ -f "$file" ]] || continue
	if stop_pidfile "$file"; then
		rm -f "$file"
		log "$mode stack stopped"
	else
		rc=1
	fi
done
exit $rc
