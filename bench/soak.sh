#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The soak (issue 15): the mixed load (bench/mixedload) for 10 minutes against the
# single-node local stack, with a hold GC sweep and an AppView restart in the middle.
#
#   bench/soak.sh [--duration 600] [--clients 32] [--pushers 4] [--gc-at 240]
#                 [--restart-at 300] [--own-netns] [--cluster]
#
# The stack starts as `make run` does (test/stack/run.sh --background, log level info
# so the hold's "GC finished" report is in its log) with the hold's GC grace period at
# 1 minute (HOLD_GC_GRACE_PERIOD), so the sweep can delete something: before the load
# mixedload uploads 5 orphan blobs no manifest references. At --gc-at seconds into the
# load the hold gets SIGUSR2 (a GC sweep while pushes go on); at --restart-at the
# AppView is stopped (SIGTERM, its 5 s shutdown) and started again with the same
# config, and var/dev.pids is updated so the sampler follows the new process.
#
# The clients run with -retry: an attempt that fails like a restart makes it fail (no
# response, 502/503/504, an upload session the restarted AppView no longer has) is
# counted as retried and run again. Judged at the end (exit status 1 on a MISS):
#   - no error at all (every other failure counts);
#   - every retried attempt falls inside the restart window (from the stop to 30 s
#     after the new AppView answers /health);
#   - the GC sweep ran and deleted at least the 5 orphans, and nothing the load pushed
#     went missing: every seed and every pushed image pulls back with the pushed
#     digests (mixedload -verify);
#   - memory flat after warm-up: the AppView's and the hold's mean VmRSS over the
#     last 2 minutes is at most 1.25× their mean over minutes 1-2 (the AppView is
#     judged on its post-restart samples against its own second minute after the
#     restart); the stack's PDS and Jetstream (test parts, not ATCR's) are printed,
#     not judged.
# Every process's VmRSS is sampled every 2 s and printed every 10 s (the curve).
#
# --cluster runs the same soak against the cluster shape instead (test/stack/cluster.sh
# --background: two AppViews behind Caddy's round robin, on PostgreSQL and Redis; the
# same hold, PDS and Jetstream). At --restart-at the AppViews are restarted one after
# the other (a rolling restart: appview-2 is stopped 1.5 s after appview-1 answers
# /health again, once Caddy's health check has put it back), while Caddy sends the load
# to whichever is up; each drains first (shutdown_drain, docs/cluster.md). The restart window runs from
# the first stop to 30 s after the last AppView answers; every AppView's memory is
# judged on its samples from 60 s after the restart window began.
#
# --own-netns runs everything in a private network namespace (unshare --net, root),
# for when another local stack holds the ports 2582 2583 6008 8080 9000 5000.
# Results: var/bench/soak/soak.md (the report), mixedload.txt, mixedload.tsv; the
# stack's logs stay in var/dev/logs.
set -euo pipefail
STACK_LOG_TAG=soak
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../test/stack/lib.sh
. "$HERE/../test/stack/lib.sh"
trap '' PIPE

DURATION=600
CLIENTS=32
PUSHERS=4
GC_AT=240
RESTART_AT=300
ORPHANS=5
OWN_NETNS=0
CLUSTER=0
OUT="$ROOT/var/bench/soak"
LOAD="$TOOLS_DIR/bench-mixedload"
LOAD_PID=""
STACK_STARTED=0

usage() { die "usage: $0 [--duration S] [--clients N] [--pushers N] [--gc-at S] [--restart-at S] [--own-netns] [--cluster]"; }

parse_args() {
	while (($#)); do
		case "$1" in
		--duration | --clients | --pushers | --gc-at | --restart-at)
			[[ "${2:-}" =~ ^[0-9]{1,5}$ ]] || usage
			case "$1" in
			--duration) DURATION=$2 ;;
			--clients) CLIENTS=$2 ;;
			--pushers) PUSHERS=$2 ;;
			--gc-at) GC_AT=$2 ;;
			--restart-at) RESTART_AT=$2 ;;
			esac
			shift
			;;
		--own-netns) OWN_NETNS=1 ;;
		--cluster) CLUSTER=1 ;;
		*) usage ;;
		esac
		shift
	done
	((GC_AT < DURATION && RESTART_AT < DURATION)) || die "--gc-at and --restart-at must fall inside --duration"
	if ((CLUSTER)); then
		STACK_STATE="$ROOT/var/cluster" STACK_PIDS="$ROOT/var/cluster.pids"
	else
		STACK_STATE="$ROOT/var/dev" STACK_PIDS="$ROOT/var/dev.pids"
	fi
}

# start_stack starts the local stack (or, with --cluster, the cluster) as the soak
# needs it: the hold's log at level info, its GC grace period at 1 minute.
start_stack() {
	if ((CLUSTER)); then
		HOLD_GC_GRACE_PERIOD=1m STACK_LOG_LEVEL=info "$ROOT/test/stack/cluster.sh" --background || die "the cluster did not start"
	else
		HOLD_GC_GRACE_PERIOD=1m STACK_LOG_LEVEL=info "$ROOT/test/stack/run.sh" --background || die "the local stack did not start"
	fi
}

stop_stack() {
	if ((CLUSTER)); then
		"$ROOT/test/stack/cluster.sh" stop
	else
		"$ROOT/test/stack/stop.sh" dev
	fi
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n "$LOAD_PID" ]] && pid_alive "$LOAD_PID"; then
		kill "$LOAD_PID" 2>/dev/null || true
		wait "$LOAD_PID" 2>/dev/null || true
	fi
	if ((STACK_STARTED)); then
		stop_stack || rc=1
	fi
	exit "$rc"
}

# pid_of NAME prints the pid the stack's pid file records for a service.
pid_of() { awk -v n="$1" '$2 == n { p = $1 } END { print p }' "$STACK_PIDS"; }

# restart_one NAME CONFIG URL stops the AppView NAME and starts it again with
# CONFIG as the stack did (the cluster's with its database and Redis URLs), then
# rewrites its line of the pid file and waits until URL/health answers.
restart_one() {
	local name=$1 config=$2 url=$3 old new t0
	old=$(pid_of "$name")
	t0=$(now_ms)
	stop_pid "$old" "$name" || die "$name (pid $old) did not stop"
	setsid env ${ATCR_DATABASE_URL:+ATCR_DATABASE_URL="$ATCR_DATABASE_URL"} ${ATCR_REDIS_URL:+ATCR_REDIS_URL="$ATCR_REDIS_URL"} \
		"$APPVIEW_BIN" serve --config "$config" >>"$STACK_STATE/logs/$name.log" 2>&1 </dev/null &
	new=$!
	awk -v o="$old" -v n="$new" '$1 == o { $1 = n } { print }' "$STACK_PIDS" >"$STACK_PIDS.tmp"
	mv "$STACK_PIDS.tmp" "$STACK_PIDS"
	wait_http "$name" "$url/health" 60 200 "$new"
	log "$name restarted: pid $old -> $new, down for $(($(now_ms) - t0)) ms"
}

# restart_appviews restarts the AppView (with --cluster: every AppView, one after
# the other). Sets RESTART_BEGIN and RESTART_END (unix ms).
restart_appviews() {
	RESTART_BEGIN=$(now_ms)
	if ((CLUSTER)); then
		local i=0 addr
		for addr in $ATCR_APPVIEW_ADDRS; do
			i=$((i + 1))
			# The next one only once Caddy's health check (every 1 s) has
			# put this one back in rotation (docs/cluster.md).
			((i == 1)) || sleep 1.5
			restart_one "appview-$i" "$STACK_STATE/appview-$i.yaml" "http://$addr"
		done
	else
		restart_one appview "$STACK_STATE/appview.yaml" "$ATCR_APPVIEW_URL"
	fi
	RESTART_END=$(now_ms)
}

# wait_until OFFSET_S waits until OFFSET_S seconds after the load started.
wait_until() {
	local due=$((LOAD_START + $1 * 1000)) now
	now=$(now_ms)
	((due <= now)) || sleep "$(awk -v d=$((due - now)) 'BEGIN { printf "%.3f", d / 1000 }')"
}

main() {
	parse_args "$@"
	if ((OWN_NETNS)) && [[ -z "${SOAK_IN_NETNS:-}" ]]; then
		[[ $(id -u) == 0 ]] || die "--own-netns needs root (unshare --net)"
		# shellcheck disable=SC2016 # $0 and $@ belong to the inner bash
		exec unshare --net -- env SOAK_IN_NETNS=1 bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
	fi
	previous_stack_running "$STACK_PIDS" && die "a stack is already running (pids in $STACK_PIDS): stop it (or use --own-netns)"
	mkdir -p "$OUT"
	rm -f "$OUT"/*
	(cd "$ROOT" && go build -o "$LOAD" ./bench/mixedload) || die "go build ./bench/mixedload failed"
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	local load0
	load0=$(cut -d' ' -f1-3 /proc/loadavg)
	start_stack
	STACK_STARTED=1
	# shellcheck disable=SC1091
	. "$STACK_STATE/stack.env"
	log "load: $CLIENTS clients ($PUSHERS pushing) for $DURATION s; GC at +$GC_AT s, AppView restart at +$RESTART_AT s"
	MIXEDLOAD_USERNAME=$ATCR_USERNAME MIXEDLOAD_PASSWORD=$ATCR_PASSWORD "$LOAD" -registry "$ATCR_APPVIEW_URL" \
		-prefix "$ATCR_USERNAME" -c "$CLIENTS" -pushers "$PUSHERS" -d "${DURATION}s" -warmup 0s -retry -verify \
		-orphans "$ORPHANS" -pids-file "$STACK_PIDS" -sample 2s -curve 10s -label soak \
		-tsv "$OUT/mixedload.tsv" >"$OUT/mixedload.txt" 2>"$OUT/mixedload.err" &
	LOAD_PID=$!
	local i
	for ((i = 0; i < 600; i++)); do
		grep -q 'load started at' "$OUT/mixedload.err" 2>/dev/null && break
		pid_alive "$LOAD_PID" || die "mixedload exited before the load started: $(cat "$OUT/mixedload.err")"
		sleep 0.5
	done
	LOAD_START=$(sed -n 's/.*load started at \([0-9]*\).*/\1/p' "$OUT/mixedload.err")
	[[ -n "$LOAD_START" ]] || die "mixedload did not start the load"
	local first second
	if ((GC_AT <= RESTART_AT)); then first=gc second=restart; else first=restart second=gc; fi
	for step in $first $second; do
		if [[ $step == gc ]]; then
			wait_until "$GC_AT"
			GC_SENT=$(now_ms)
			kill -USR2 "$(pid_of hold)"
			log "GC sweep requested (SIGUSR2 to the hold)"
		else
			wait_until "$RESTART_AT"
			restart_appviews
		fi
	done
	local rc=0
	wait "$LOAD_PID" || rc=$?
	LOAD_PID=""
	((rc == 0)) || die "mixedload failed (exit $rc): $(tail -n 5 "$OUT/mixedload.err")"
	report "$load0"
}

# report judges the run and writes soak.md.
report() {
	local load0=$1 load1 verdict=PASS gcline errors retried first last verified pushed
	load1=$(cut -d' ' -f1-3 /proc/loadavg)
	gcline=$(grep 'GC finished' "$STACK_STATE/logs/hold.log" | tail -n 1 || true)
	errors=$(awk -F'\t' '$1 == "op" { s += $10 } END { print s + 0 }' "$OUT/mixedload.tsv")
	retried=$(awk -F'\t' '$1 == "op" { s += $11 } END { print s + 0 }' "$OUT/mixedload.tsv")
	first=$(awk -F'\t' '$1 == "op" && $11 > 0 && (m == "" || $12 < m) { m = $12 } END { print m + 0 }' "$OUT/mixedload.tsv")
	last=$(awk -F'\t' '$1 == "op" && $11 > 0 && $13 > m { m = $13 } END { print m + 0 }' "$OUT/mixedload.tsv")
	verified=$(awk -F'\t' '$1 == "op" && $3 == "verify" { print $5 }' "$OUT/mixedload.tsv")
	pushed=$(awk -F'\t' '$1 == "total" { print $4 }' "$OUT/mixedload.tsv")
	local rb re deleted
	rb=$(awk -v a="$RESTART_BEGIN" -v s="$LOAD_START" 'BEGIN { printf "%.1f", (a - s) / 1000 }')
	re=$(awk -v a="$RESTART_END" -v s="$LOAD_START" 'BEGIN { printf "%.1f", (a - s) / 1000 }')
	local gcs
	gcs=$(awk -v a="$GC_SENT" -v s="$LOAD_START" 'BEGIN { printf "%.1f", (a - s) / 1000 }')
	deleted=$(sed -n 's/.* deleted=\([0-9]*\).*/\1/p' <<<"$gcline")
	{
		echo "# Soak: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo
		if ((CLUSTER)); then
			echo "bench/soak.sh --cluster: $CLIENTS clients ($PUSHERS pushing) for $DURATION s through Caddy's round robin over the AppViews $ATCR_APPVIEW_ADDRS (PostgreSQL and Redis, test/stack/cluster.sh); GC sweep (SIGUSR2) at +$GC_AT s, the AppViews restarted one after the other from +$RESTART_AT s."
		else
			echo "bench/soak.sh: $CLIENTS clients ($PUSHERS pushing) for $DURATION s against the local stack; GC sweep (SIGUSR2) at +$GC_AT s, AppView restart at +$RESTART_AT s."
		fi
		echo "Load average at start $load0, at end $load1. ATCR $(git -C "$ROOT" describe --tags --always --dirty 2>/dev/null)."
		echo
		echo '```'
		cat "$OUT/mixedload.txt"
		echo '```'
		echo
		echo "- AppView restart: the first stopped at +$rb s, the last answering /health again at +$re s."
		echo "- GC sweep requested at +$gcs s; the hold's report: $gcline"
		echo "- Retried attempts: $retried, between +$first s and +$last s."
		echo "- Errors: $errors. Images pulled back: ${verified:-0} of $pushed pushed + the seeds."
	} >"$OUT/soak.md"
	judge() {
		if (($1)); then echo "- PASS: $2" >>"$OUT/soak.md"; else echo "- MISS: $2" >>"$OUT/soak.md"; verdict=MISS; fi
	}
	judge "$((errors == 0))" "no error other than retried restart failures ($errors)"
	judge "$(awk -v f="$first" -v l="$last" -v r="$retried" -v b="$rb" -v e="$re" 'BEGIN { print (r == 0 || (f >= b - 1 && l <= e + 30)) ? 1 : 0 }')" \
		"every retry inside the restart window [+$rb s, +$re s + 30 s] (retries +$first s to +$last s)"
	judge "$(( ${deleted:-0} >= ORPHANS ))" "the GC sweep ran under load and deleted the $ORPHANS orphans (deleted=${deleted:-none})"
	judge "$(awk -F'\t' '$1 == "op" && $3 == "verify" { ok = ($10 == 0 && $5 > 0) } END { print ok + 0 }' "$OUT/mixedload.tsv")" \
		"every pushed image pulls back with its digests (${verified:-0} pulled back, verify errors counted above)"
	memory_flat
	echo >>"$OUT/soak.md"
	echo "Verdict: $verdict" >>"$OUT/soak.md"
	cat "$OUT/soak.md"
	[[ $verdict == PASS ]]
}

# memory_flat judges each process's curve: mean VmRSS of the last 120 s against
# minutes 1-2 (each AppView: its post-restart samples, from 60 s after the restart
# began).
memory_flat() {
	local line
	while read -r line; do
		if [[ "$line" == info* ]]; then
			echo "- info: ${line#info }" >>"$OUT/soak.md"
			continue
		fi
		judge "${line%% *}" "${line#* }"
	done < <(awk -F'\t' -v dur="$DURATION" -v rs="$RESTART_AT" '
		$1 == "curve" {
			t = $3
			n = split($4, cells, " ")
			for (i = 1; i <= n; i++) {
				split(cells[i], kv, "=")
				name = kv[1]; kb = kv[2]
				names[name] = 1
				from = (name ~ /^appview/) ? rs + 60 : 60
				if (t >= from && t < from + 60) { early[name] += kb; ne[name]++ }
				if (t >= dur - 120) { late[name] += kb; nl[name]++ }
			}
		}
		END {
			for (name in names) {
				if (!ne[name] || !nl[name]) { print 0, name ": not enough samples"; continue }
				e = early[name] / ne[name] / 1024; l = late[name] / nl[name] / 1024
				if (name !~ /^appview/ && name != "hold") {
					printf "info %s (not ATCR'"'"'s, not judged): %.1f MiB early, %.1f MiB in the last 2 min (%.2fx)\n", name, e, l, l / e
					continue
				}
				printf "%d %s memory flat: %.1f MiB early, %.1f MiB in the last 2 min (%.2fx, limit 1.25x)\n", (l <= 1.25 * e), name, e, l, l / e
			}
		}' "$OUT/mixedload.tsv" | sort -k2)
}

main "$@"
