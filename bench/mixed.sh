# shellcheck shell=bash
# The mixed load of make bench (issue 15), sourced by bench/run.sh after its own
# definitions (record, meta, log, target, REFERENCE_*, ATCR_*, TOOLS_DIR, WORK).
#
# mixed_load: bench/mixedload against the reference registry, then ATCR, with the
#   same settings: MIXED_CLIENTS clients (MIXED_PUSHERS of them pushing fresh
#   64 KiB single-layer images back to back, the others pulling 8 seed images of two
#   256 KiB layers, HEADing and GETting manifests by tag and digest, listing tags) for
#   MIXED_DURATION seconds after a 3 s warm-up. Figures per operation: rate, p50,
#   p99; failed operations; per process (ATCR: every process of var/dev.pids; the
#   reference: its one process) peak RSS (VmHWM reset before the run) and CPU ms per
#   operation.
# mixed_costs: each operation alone (16 clients, pushes 4; MIXED_COST_DURATION seconds,
#   MIXED_COSTS=0 skips them) on each
#   registry: CPU ms per operation summed over the registry's processes, and the
#   per-process split in the meta data — the per-request costs the N-machine
#   estimate in docs/benchmarks.md is derived from.
# mixed_cluster: the same load against the two-AppView cluster (when
#   MIXED_CLUSTER=1; see the function), judged against the single-node figures.
# MIXED_DURATION=0 skips all three.

MIXED_DURATION=${MIXED_DURATION:-60}
MIXED_CLIENTS=${MIXED_CLIENTS:-32}
MIXED_PUSHERS=${MIXED_PUSHERS:-4}
MIXED_COST_DURATION=${MIXED_COST_DURATION:-10}
MIXED_CLUSTER=${MIXED_CLUSTER:-0}
MIXED_COSTS=${MIXED_COSTS:-1} # 0: no per-operation cost runs
MIXED_BIN="$TOOLS_DIR/bench-mixedload"
MIXED_OPS=(pull push manifest_head_tag manifest_get_tag manifest_get_digest tag_list)

# mixed_tool_build builds bench/mixedload into bin/tools.
mixed_tool_build() {
	[[ -n "${MIXED_BUILT:-}" ]] && return 0
	(cd "$ROOT" && go build -o "$MIXED_BIN" ./bench/mixedload) >&2 || die "go build ./bench/mixedload failed"
	MIXED_BUILT=1
}

# mixed_run REGISTRY LABEL TSV ARGS... runs mixedload against REGISTRY (atcr or
# reference: its URL, account and processes) with ARGS; output in $WORK/LABEL.txt.
mixed_run() {
	local reg=$1 label=$2 tsv=$3 base user="" pass="" procs=()
	shift 3
	case "$reg" in
	atcr)
		base="http://$ATCR_ADDR" user=$ATCR_USERNAME pass=$ATCR_PASSWORD
		procs=(-pids-file "$ROOT/var/dev.pids")
		;;
	reference)
		base="http://$REFERENCE_ADDR"
		procs=(-proc "registry=$REFERENCE_PID")
		;;
	esac
	MIXEDLOAD_USERNAME=$user MIXEDLOAD_PASSWORD=$pass "$MIXED_BIN" -registry "$base" -prefix "$REPO_PREFIX" \
		"${procs[@]}" -label "$label" -tsv "$tsv" "$@" >"$WORK/$label.txt" 2>"$WORK/$label.err"
}

# mixed_record TSV REGISTRY PREFIX turns mixedload's records into raw records:
# PREFIX_<op>_rps/_p50_ms/_p99_ms, PREFIX_errors, PREFIX_peak_rss_<process>,
# PREFIX_cpu_ms_<process>; error texts and the per-process figures go to the meta data.
mixed_record() {
	local tsv=$1 reg=$2 prefix=$3 kind a b c d e f h errors=0
	while IFS=$'\t' read -r kind _ a b c d e f _ h _; do
		case "$kind" in
		op)
			[[ "$a" == verify ]] && continue
			record run "${prefix}_${a}_rps" "$reg" "$d"
			record run "${prefix}_${a}_p50_ms" "$reg" "$e"
			record run "${prefix}_${a}_p99_ms" "$reg" "$f"
			errors=$((errors + h))
			;;
		error) meta "$prefix error on $reg" "$b" ;;
		proc)
			record run "${prefix}_peak_rss_$a" "$reg" $((d * 1024))
			record run "${prefix}_cpu_ms_$a" "$reg" "$f"
			meta "$prefix $reg process $a" "max VmRSS $((b / 1024)) MiB, mean $((c / 1024)) MiB, VmHWM $((d / 1024)) MiB, CPU ${e} s, ${f} ms per operation"
			;;
		total) meta "$prefix $reg operations" "$a in all (warm-up and tail included), $b images pushed" ;;
		esac
	done <"$tsv"
	record run "${prefix}_errors" "$reg" "$errors"
}

# mixed_once REGISTRY PREFIX: one mixed-load run, recorded.
mixed_once() {
	local reg=$1 prefix=$2 tsv="$WORK/$2-$1.tsv" load
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	if ! mixed_run "$reg" "$prefix-$reg" "$tsv" -c "$MIXED_CLIENTS" -pushers "$MIXED_PUSHERS" -d "${MIXED_DURATION}s"; then
		record error "${prefix}_errors" "$reg" "mixedload failed: $(last_line "$WORK/$prefix-$reg.err")"
		log "$prefix on $reg FAILED: $(tail -n 3 "$WORK/$prefix-$reg.err")"
		return 0
	fi
	mixed_record "$tsv" "$reg" "$prefix"
	meta "$prefix on $reg" "load average $load at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
	log "$prefix on $reg (load average $load):"
	sed -n '1,9p' "$WORK/$prefix-$reg.txt" >&2
}

mixed_load() {
	((MIXED_DURATION > 0)) || return 0
	mixed_tool_build
	meta "mixed load method" "bench/mixedload: $MIXED_CLIENTS clients ($MIXED_PUSHERS pushing fresh 64 KiB images, the others pulling 8 seed images of 2×256 KiB and reading manifests and tag lists, weights $(sed -n 's/^const defaultMix = "\(.*\)"/\1/p' "$ROOT/bench/mixedload/main.go")), ${MIXED_DURATION} s after a 3 s warm-up, token once"
	mixed_once reference mixed
	((WITH_ATCR)) && mixed_once atcr mixed
	return 0
}

# mixed_costs: CPU per operation, each operation alone.
mixed_costs() {
	((MIXED_DURATION > 0 && MIXED_COSTS)) || return 0
	mixed_tool_build
	local reg op tsv args cpu ops split
	for reg in reference atcr; do
		[[ "$reg" == reference ]] || ((WITH_ATCR)) || continue
		for op in "${MIXED_OPS[@]}"; do
			tsv="$WORK/cost-$op-$reg.tsv"
			args=(-c 16 -pushers 0 -mix "$op=1")
			# Pushes: 4 clients as in the mixed load. 16 concurrent pushes to one
			# account made the local stack's PDS time out (uploadBlob, 502) here.
			[[ "$op" == push ]] && args=(-c 4 -pushers 4)
			if ! mixed_run "$reg" "cost-$op-$reg" "$tsv" "${args[@]}" -seeds 4 -d "${MIXED_COST_DURATION}s" -warmup 1s; then
				record error "mixed_cost_${op}_cpu_ms" "$reg" "mixedload failed: $(last_line "$WORK/cost-$op-$reg.err")"
				continue
			fi
			ops=$(awk -F'\t' '$1 == "total" { print $3 }' "$tsv")
			cpu=$(awk -F'\t' '$1 == "proc" { s += $7 } END { printf "%.2f", s }' "$tsv")
			split=$(awk -F'\t' -v n="$ops" '$1 == "proc" { printf "%s%s %.3f", sep, $3, $7 * 1000 / n; sep = ", " }' "$tsv")
			if ! awk -F'\t' '$1 == "op" && $10 > 0 { bad = 1 } END { exit bad }' "$tsv"; then
				record error "mixed_cost_${op}_cpu_ms" "$reg" "$(awk -F'\t' '$1 == "error" { print $4; exit }' "$tsv")"
				continue
			fi
			record run "mixed_cost_${op}_cpu_ms" "$reg" "$(awk -v c="$cpu" -v n="$ops" 'BEGIN { printf "%.3f", c * 1000 / n }')"
			meta "cost of $op on $reg" "$ops operations, $(awk -F'\t' '$1 == "op" && $3 != "verify" { printf "%s/s p50 %s ms p99 %s ms", $6, $7, $8 }' "$tsv"), CPU ms per operation: $split; load average $(cut -d' ' -f1-3 /proc/loadavg)"
			log "cost of $op on $reg: $split (CPU ms per operation)"
		done
	done
}

# mixed_cluster (MIXED_CLUSTER=1, bench/run.sh --mixed-cluster; the last leg, as it
# stops the single-node stack) runs the same load twice through test/stack/cluster.sh
# --background (Caddy on 127.0.0.1:5000, the same hold, PDS and Jetstream as the local
# stack):
#   1. CLUSTER_APPVIEWS=1 CLUSTER_SHARED=0: one AppView on SQLite and in-memory state
#      behind Caddy — single-node as deployed behind a load balancer;
#   2. the cluster: two AppViews round robin, on PostgreSQL and Redis;
#   3. the cluster again, the clients taking the AppViews in turn themselves (mixedload
#      -registry A,B: DNS round robin, or a load balancer on its own machine) — no proxy
#      on the two cores;
#   4. leg 1's single AppView again, the clients going straight to it.
# Leg 2's figures are recorded twice: as mixed_cluster_* with ATCR single-node's
# figures from this run (mixed_once atcr, no Caddy) in the reference column, and as
# mixed_clusterlb_* with leg 1's in the reference column; leg 3's as mixed_clusterrr_*
# with leg 4's. All are judged ≥ 0.8×: the first includes the load balancer's cost,
# the other two are the shared state's alone, each against a baseline measured next
# to it (this machine's speed drifts by a third over the minutes of a bench run).
mixed_cluster() {
	((MIXED_DURATION > 0 && MIXED_CLUSTER && WITH_ATCR)) || return 0
	local single="$WORK/mixed-atcr.tsv" lb="$WORK/mixed_clusterlb-single.tsv" tsv="$WORK/mixed_cluster-atcr.tsv"
	local rr="$WORK/mixed_clusterrr-atcr.tsv" direct="$WORK/mixed_clusterrr-single.tsv"
	[[ -x "$ROOT/test/stack/cluster.sh" ]] || {
		record error mixed_cluster_errors atcr "test/stack/cluster.sh is missing (branch cluster-e2e)"
		return 0
	}
	mixed_tool_build
	if ((STACK_STARTED)); then
		"$ROOT/test/stack/stop.sh" dev || die "could not stop the single-node stack before the cluster leg"
		STACK_STARTED=0
	fi
	cluster_leg lb-single "$lb" "one AppView (SQLite, no Redis) behind Caddy" CLUSTER_APPVIEWS=1 CLUSTER_SHARED=0 || return 0
	cluster_leg cluster "$tsv" "two AppViews behind Caddy, PostgreSQL and Redis" CLUSTER_APPVIEWS=2 CLUSTER_SHARED=1 || return 0
	mixed_record "$tsv" atcr mixed_cluster
	mixed_reference_column "$single" mixed_cluster
	mixed_op_rows "$tsv" atcr mixed_clusterlb
	mixed_reference_column "$lb" mixed_clusterlb
	CLUSTER_SPREAD=1 cluster_leg cluster-rr "$rr" "two AppViews on PostgreSQL and Redis, the clients taking them in turn (no proxy)" \
		CLUSTER_APPVIEWS=2 CLUSTER_SHARED=1 || return 0
	CLUSTER_SPREAD=1 cluster_leg single-direct "$direct" "one AppView (SQLite, no Redis), the clients straight to it (no proxy)" \
		CLUSTER_APPVIEWS=1 CLUSTER_SHARED=0 || return 0
	mixed_op_rows "$rr" atcr mixed_clusterrr
	mixed_reference_column "$direct" mixed_clusterrr
}

# cluster_leg LABEL TSV DESCRIPTION ENV...: start test/stack/cluster.sh with ENV, run
# the mixed load through its Caddy (with CLUSTER_SPREAD=1: straight to its AppViews,
# in turn) into TSV, stop it. Fails (after recording the error) when the cluster did
# not start or the load failed.
cluster_leg() {
	local label=$1 tsv=$2 what=$3 load target addr
	shift 3
	log "cluster leg $label: $what (test/stack/cluster.sh --background)"
	MIXED_CLUSTER_STARTED=1 # stop whatever starts
	if ! env "$@" STACK_LOG_LEVEL=warn "$ROOT/test/stack/cluster.sh" --background >"$WORK/cluster-$label-start.log" 2>&1; then
		record error mixed_cluster_errors atcr "the cluster ($label) did not start: $(last_line "$WORK/cluster-$label-start.log")"
		return 1
	fi
	# shellcheck disable=SC1091
	. "$ROOT/var/cluster/stack.env"
	target=$ATCR_APPVIEW_URL
	if ((${CLUSTER_SPREAD:-0})); then
		target=""
		for addr in $ATCR_APPVIEW_ADDRS; do target+="${target:+,}http://$addr"; done
	fi
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	if ! MIXEDLOAD_USERNAME=$ATCR_USERNAME MIXEDLOAD_PASSWORD=$ATCR_PASSWORD "$MIXED_BIN" -registry "$target" \
		-prefix "$ATCR_USERNAME" -pids-file "$ROOT/var/cluster.pids" -label "$label" -tsv "$tsv" \
		-c "$MIXED_CLIENTS" -pushers "$MIXED_PUSHERS" -d "${MIXED_DURATION}s" >"$WORK/mixed_$label.txt" 2>"$WORK/mixed_$label.err"; then
		record error mixed_cluster_errors atcr "mixedload failed ($label): $(last_line "$WORK/mixed_$label.err")"
		mixed_cluster_stop || true
		return 1
	fi
	meta "mixed_cluster leg $label" "$what (test/stack/cluster.sh); load average $load at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
	local kind a d e f
	while IFS=$'\t' read -r kind _ a _ _ d e f _; do
		[[ "$kind" == proc ]] && meta "mixed_cluster leg $label process $a" "VmHWM $((d / 1024)) MiB, CPU ${e} s, ${f} ms per operation"
	done <"$tsv"
	log "mixed load, cluster leg $label (load average $load):"
	sed -n '1,9p' "$WORK/mixed_$label.txt" >&2
	mixed_cluster_stop || die "could not stop the cluster after leg $label"
}

# mixed_op_rows TSV REGISTRY PREFIX records only the per-operation rows of TSV.
mixed_op_rows() {
	local tsv=$1 reg=$2 prefix=$3 kind a d e f
	while IFS=$'\t' read -r kind _ a _ _ d e f _; do
		[[ "$kind" == op && "$a" != verify ]] || continue
		record run "${prefix}_${a}_rps" "$reg" "$d"
		record run "${prefix}_${a}_p50_ms" "$reg" "$e"
		record run "${prefix}_${a}_p99_ms" "$reg" "$f"
	done <"$tsv"
}

# mixed_reference_column TSV PREFIX: TSV's per-operation figures as the reference
# column of PREFIX's rows (nothing when TSV is missing).
mixed_reference_column() {
	[[ -s "$1" ]] || return 0
	mixed_op_rows "$1" reference "$2"
}

# mixed_cluster_stop stops the cluster mixed_cluster started (bench/run.sh's cleanup).
mixed_cluster_stop() {
	[[ -n "${MIXED_CLUSTER_STARTED:-}" ]] || return 0
	"$ROOT/test/stack/cluster.sh" stop || return 1
	MIXED_CLUSTER_STARTED=""
}
