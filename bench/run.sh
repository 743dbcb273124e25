#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# make bench: ATCR (the local stack) against the reference registry (distribution
# v3.1.2, filesystem storage) in one run on this machine.
#
#   bench/run.sh                    both registries; results in var/bench/results.md
#   bench/run.sh --reference-only   only the reference registry (a baseline, or while
#                                   ATCR's /v2 does not work yet)
#   options: --runs N (default 3)  --sizes "50 500" (MiB)  --keep (keep the images)
#            --stress-clients N (default 8)  --stress-cycles M (default 50; 0: no stress run)
#            --scan-sizes "50 500" (MiB; 0: no scan figure)
#            --mixed-duration S (default 60; 0: no mixed load)  --mixed-cluster (bench/mixed.sh)
#
# First an untimed warm-up push of a 1 MiB image to each registry (warm_up). Then,
# measured for each image size, each run and each registry (the order of the two
# registries alternates from run to run): `crane push` of a fresh single-layer image
# whose layer is random bytes (bench/mkimage; a new image every run, so no registry
# can skip an upload it has seen), then `crane pull --format=oci` to a directory and
# a check that the pulled manifest and layer have the pushed digests. The median of
# the runs is reported. Then manifest GETs by digest per second (bench/manifestload,
# 16 workers with keep-alive for 10 s after a 1 s warm-up, a bearer token obtained
# once for ATCR). During ATCR's pushes of the largest image the AppView's VmRSS is
# sampled every 100 ms; its VmHWM (reset before those runs) is read after them; the
# peak of the two is judged. The reference registry's VmHWM is shown beside it.
# Then the concurrent push/pull stress run (issue 11; the reference side since issue
# 15): the end-to-end test TestStressConcurrentPushPull (test/e2e/stress_test.go), run
# on the host against the local stack, then against the reference registry, with
# --stress-clients N (default 8) clients each pushing and pulling back --stress-cycles
# M (default 50) fresh 2 MiB images at once; every pulled digest must equal the pushed
# one, any failed cycle is an error (exit status 1), and ATCR's wall time is judged
# against the reference's.
#
# Last, the scan figure (issue 12; --scan-sizes, default "50 500", 0 to skip): the
# test vulnerability database (fixtures, pkg/hold/scan/scantest) is imported into the
# running hold (atcr-hold scanner db import), then for each size and run a fresh image
# (random layer of that many MiB + an Alpine layer with a known-vulnerable apk) is
# pushed with crane and the time from the end of the push to the hold's
# io.atcr.hold.scan record is measured, against the grype CLI (same version, a copy of
# the same database) scanning the same image from an OCI layout; the hold's VmHWM
# (reset before each push) is read when the record exists (TestScanPushBench in
# pkg/hold/scan/grypescan). The stack runs with rescans off, so importing the database
# does not rescan the images of the figures before.
#
# ATCR runs as `make run` does (test/stack/run.sh --background: plain HTTP on
# 127.0.0.1:5000, alice's app password from var/dev/stack.env) with log level warn;
# the reference registry runs with access logs off on a random loopback port. crane
# gets --insecure for both and a private DOCKER_CONFIG under var/bench.
#
# Prints the table (figure, ATCR, reference, ATCR/ref, target, PASS/MISS) and writes
# var/bench/results.md and var/bench/raw.tsv. A MISS is a result: the exit status is
# 1 only when something could not be measured (a push or pull failed), 0 otherwise.
set -euo pipefail
# shellcheck disable=SC2034 # STACK_LOG_TAG is read by lib.sh
STACK_LOG_TAG=bench
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../test/stack/lib.sh
. "$HERE/../test/stack/lib.sh"
# shellcheck source=../test/conformance/reference.sh
. "$ROOT/test/conformance/reference.sh"
# shellcheck source=mixed.sh
. "$HERE/mixed.sh"
trap '' PIPE

RUNS=3
SIZES=(50 500)
KEEP=0
WITH_ATCR=1
CONCURRENCY=16
LOAD_DURATION=10s
LOAD_WARMUP=1s
OP_TIMEOUT=900 # seconds for one crane push or pull
STRESS_CLIENTS=8
STRESS_CYCLES=50
STRESS_TIMEOUT=30m # the whole stress run
SCAN_SIZES=(50 500)

OUT="$ROOT/var/bench"
WORK="$OUT/work"
RAW="$OUT/raw.tsv"
CRANE="$TOOLS_DIR/crane"
MKIMAGE="$TOOLS_DIR/bench-mkimage"
LOAD="$TOOLS_DIR/bench-manifestload"
REPORT="$TOOLS_DIR/bench-report"
export DOCKER_CONFIG="$OUT/docker"

STACK_STARTED=0
# Repositories are <account>/bench-<size>m-<run> on both registries.
REPO_PREFIX=alice.test
SAMPLER_PID=""
LARGEST_PUSHED=0 # ATCR pushes of the largest image that succeeded
ATCR_ADDR=""
APPVIEW_PID=""
HOLD_PID=""

usage() { die "usage: $0 [--reference-only] [--runs N] [--sizes \"50 500\"] [--keep] [--stress-clients N] [--stress-cycles M] [--scan-sizes \"50 500\"]"; }

parse_args() {
	while (($#)); do
		case "$1" in
		--reference-only) WITH_ATCR=0 ;;
		--runs)
			[[ "${2:-}" =~ ^[1-9][0-9]?$ ]] || usage
			RUNS=$2
			shift
			;;
		--sizes)
			[[ "${2:-}" =~ ^[1-9][0-9]*( [1-9][0-9]*)*$ ]] || usage
			read -r -a SIZES <<<"$2"
			shift
			;;
		--keep) KEEP=1 ;;
		--mixed-duration)
			[[ "${2:-}" =~ ^[0-9]{1,4}$ ]] || usage
			MIXED_DURATION=$2
			shift
			;;
		--mixed-cluster) MIXED_CLUSTER=1 ;;
		--scan-sizes)
			[[ "${2:-}" =~ ^(0|[1-9][0-9]*( [1-9][0-9]*)*)$ ]] || usage
			read -r -a SCAN_SIZES <<<"$2"
			shift
			;;
		--stress-clients)
			[[ "${2:-}" =~ ^[1-9][0-9]?$ ]] || usage
			STRESS_CLIENTS=$2
			shift
			;;
		--stress-cycles)
			[[ "${2:-}" =~ ^[0-9]{1,4}$ ]] || usage
			STRESS_CYCLES=$2
			shift
			;;
		*) usage ;;
		esac
		shift
	done
}

# last_line FILE prints FILE's last non-blank line, fit for one raw record.
last_line() { grep -v '^[[:space:]]*$' "$1" | tail -n 1 | tr '\t' ' ' | cut -c1-300; }

# record TYPE FIGURE REGISTRY VALUE appends one raw record.
record() { printf '%s\t%s\t%s\t%s\n' "$@" >>"$RAW"; }
meta() { printf 'meta\t%s\t%s\n' "$1" "$2" >>"$RAW"; }

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_sampler
	stop_reference_registry || rc=1
	mixed_cluster_stop || rc=1
	if ((STACK_STARTED)); then
		"$ROOT/test/stack/stop.sh" dev || rc=1
		# The pushed blobs are big, and the stack wipes var/dev at its next start
		# anyway; its logs (var/dev/logs) stay.
		if ((!KEEP)) && [[ -n "${ATCR_HOLD_DATA_DIR:-}" && "$ATCR_HOLD_DATA_DIR" == "$ROOT/var/dev/"* ]]; then
			rm -rf "$ATCR_HOLD_DATA_DIR"
		fi
	fi
	if ((!KEEP)); then
		rm -rf "$WORK" "$OUT/reference"
	fi
	exit "$rc"
}

build_tools() {
	local t
	# The stack runs bin/atcr-*: built here too, so a run started without
	# make bench measures the checkout's code, not an older build.
	if ((WITH_ATCR)) && [[ -z "${STACK_APPVIEW_BIN:-}${STACK_HOLD_BIN:-}" ]]; then
		make -C "$ROOT" --no-print-directory build >&2 || die "make build failed"
	fi
	for t in mkimage manifestload report; do
		(cd "$ROOT" && go build -o "$TOOLS_DIR/bench-$t" "./bench/$t") >&2 || die "go build ./bench/$t failed"
	done
	[[ -x "$CRANE" ]] || "$ROOT/test/stack/install.sh"
	[[ -x "$CRANE" ]] || die "$CRANE is missing (test/stack/install.sh installs it)"
}

write_meta() {
	local cpu load mem
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	meta date "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	meta machine "$(nproc) CPUs, ${cpu:-unknown CPU}, $mem RAM, Linux $(uname -r)"
	meta "load average at start" "$load"
	meta versions "distribution $REFERENCE_VERSION (reference), crane $("$CRANE" version), ATCR $(git -C "$ROOT" describe --tags --always --dirty 2>/dev/null || echo unknown), $(go version | cut -d' ' -f3)"
	meta method "$RUNS runs per size (median), sizes ${SIZES[*]} MiB of random bytes in one uncompressed tar layer, a fresh image per run, registry order alternating; manifest GET: c=$CONCURRENCY, $LOAD_DURATION after a $LOAD_WARMUP warm-up, keep-alive"
	meta "ATCR setup" "$( ((WITH_ATCR)) && echo "local stack (test/stack/run.sh --background), plain HTTP on 127.0.0.1:5000, log level warn, embedded S3 on loopback" || echo "not measured (--reference-only)")"
	meta "reference setup" "distribution $REFERENCE_VERSION, filesystem storage under var/bench, access log off, log level warn, plain HTTP on loopback"
	log "machine: $(nproc) CPUs, ${cpu:-?}; load average $load"
}

start_atcr() {
	if previous_stack_running "$ROOT/var/dev.pids"; then
		die "a local stack is already running (make run): stop it with test/stack/stop.sh dev, or use --reference-only"
	fi
	# run.sh stops what it started when it fails; only a stack that came up is
	# ours to stop (var/dev.pids may name someone else's after a refused start).
	# Rescans off: importing the database for the scan figure must not rescan
	# every image the figures before pushed.
	HOLD_SCANNER_RESCANS_PER_MINUTE=0 STACK_LOG_LEVEL=warn "$ROOT/test/stack/run.sh" --background || die "the local stack did not start (see above)"
	STACK_STARTED=1
	# shellcheck disable=SC1091
	. "$ROOT/var/dev/stack.env"
	ATCR_ADDR=$ATCR_REGISTRY
	REPO_PREFIX=$ATCR_USERNAME
	local pid name needle
	while read -r pid name needle; do
		case "$name" in
		appview) pid_matches "$pid" "$needle" && APPVIEW_PID=$pid ;;
		hold) pid_matches "$pid" "$needle" && HOLD_PID=$pid ;;
		esac
	done <"$ROOT/var/dev.pids"
	[[ -n "$APPVIEW_PID" ]] || die "no running AppView in var/dev.pids"
	printf '%s' "$ATCR_PASSWORD" | "$CRANE" auth login "$ATCR_ADDR" -u "$ATCR_USERNAME" --password-stdin >"$WORK/login.log" 2>&1 ||
		die "crane auth login $ATCR_ADDR failed: $(cat "$WORK/login.log")"
	log "ATCR: http://$ATCR_ADDR as $ATCR_USERNAME (AppView pid $APPVIEW_PID, hold pid ${HOLD_PID:-?})"
}

# target REGISTRY NAME prints the image reference on that registry.
target() {
	case "$1" in
	atcr) echo "$ATCR_ADDR/$REPO_PREFIX/$2" ;;
	reference) echo "$REFERENCE_ADDR/$REPO_PREFIX/$2" ;;
	esac
}

# timed FIGURE REGISTRY CMD... runs CMD (with a timeout), records its wall time
# in seconds, or an error record with the last line of its output.
timed() {
	local figure=$1 registry=$2 t0 t1 out rc=0
	shift 2
	out="$WORK/last-command.log"
	t0=$(date +%s%N)
	timeout "$OP_TIMEOUT" "$@" >"$out" 2>&1 || rc=$?
	t1=$(date +%s%N)
	if ((rc != 0)); then
		record error "$figure" "$registry" "$(basename "$1") $2 failed (exit $rc): $(last_line "$out")"
		log "$figure on $registry FAILED (exit $rc): $(tail -n 3 "$out")"
		return 1
	fi
	local secs
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	record run "$figure" "$registry" "$secs"
	log "$figure on $registry: $secs s"
}

# verify_pull DIR MANIFEST LAYER LAYER_SIZE checks a pulled OCI layout.
verify_pull() {
	local dir=$1 manifest=$2 layer=$3 size=$4 blob
	grep -qF "\"$manifest\"" "$dir/index.json" || {
		echo "pulled index.json does not name manifest $manifest"
		return 1
	}
	blob="$dir/blobs/sha256/${layer#sha256:}"
	[[ -f "$blob" && "$(stat -c %s "$blob")" == "$size" ]] || {
		echo "pulled layer $layer is missing or not $size bytes"
		return 1
	}
	[[ "sha256:$(sha256sum "$blob" | cut -d' ' -f1)" == "$layer" ]] || {
		echo "pulled layer does not hash to $layer"
		return 1
	}
}

# sampler PID FILE appends PID's VmRSS (kB) to FILE every 100 ms.
start_sampler() {
	local pid=$1 file=$2
	(
		while [[ -r "/proc/$pid/status" ]]; do
			awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || break
			sleep 0.1
		done
	) >>"$file" &
	SAMPLER_PID=$!
}

stop_sampler() {
	[[ -n "$SAMPLER_PID" ]] || return 0
	kill "$SAMPLER_PID" 2>/dev/null || true
	wait "$SAMPLER_PID" 2>/dev/null || true
	SAMPLER_PID=""
}

# reset_hwm PID...: sets each process's VmHWM back to its current RSS (Linux
# >= 4.0, clear_refs value 5), so the VmHWM read after the largest runs is the
# peak of those runs alone. Records in the meta data when that is not possible
# (the figure is then the process's lifetime peak, an upper bound).
reset_hwm() {
	local pid
	for pid in "$@"; do
		[[ -n "$pid" ]] || continue
		if ! { echo 5 >"/proc/$pid/clear_refs"; } 2>/dev/null; then
			meta "VmHWM" "could not reset the peak of pid $pid: the figure is its lifetime peak"
		fi
	done
}

# status_kb PID FIELD prints a /proc/PID/status field in kB, or nothing when
# PID is gone (callers record that; a failure here would end the run under
# set -e before they could).
status_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null || true; }

# warm_up pushes a 1 MiB image to each registry once, untimed by the figures,
# so no measured push pays a one-time cost: ATCR's first push for an account
# checks its app password on the PDS (createSession; later checks hit the
# AppView's cache for a few minutes) and creates its sailor profile, and both
# registries open their storage. Its times go to the meta data.
warm_up() {
	local img="$WORK/img-warmup" reg t0 took=()
	"$MKIMAGE" -size 1MiB -out "$img" >/dev/null || die "mkimage failed"
	for reg in reference atcr; do
		[[ "$reg" == reference ]] || ((WITH_ATCR)) || continue
		t0=$(now_ms)
		timeout "$OP_TIMEOUT" "$CRANE" push --insecure "$img" "$(target "$reg" bench-warmup):v1" >"$WORK/warmup.log" 2>&1 ||
			die "warm-up push to $reg failed: $(last_line "$WORK/warmup.log")"
		took+=("$reg $(($(now_ms) - t0)) ms")
	done
	rm -rf "$img"
	meta "warm-up push (1 MiB, not measured)" "${took[*]}"
	log "warm-up push (1 MiB, not measured): ${took[*]}"
}

# one_run SIZE RUN: a fresh image, pushed to and pulled from each registry.
one_run() {
	local size=$1 run=$2 img="$WORK/img-$1-$2" failed manifest="" layer="" layer_size="" registries reg ref pulled
	"$MKIMAGE" -size "${size}MiB" -out "$img" >"$WORK/mkimage.out" || die "mkimage failed"
	while IFS='=' read -r key value; do
		case "$key" in
		manifest) manifest=$value ;;
		layer) layer=$value ;;
		layer_size) layer_size=$value ;;
		esac
	done <"$WORK/mkimage.out"
	registries=(reference)
	if ((WITH_ATCR && run % 2 == 1)); then
		registries=(reference atcr)
	elif ((WITH_ATCR)); then
		registries=(atcr reference)
	fi
	for reg in "${registries[@]}"; do
		ref=$(target "$reg" "bench-${size}m-$run"):v1
		if [[ "$reg" == atcr && "$size" == "$LARGEST" ]]; then
			start_sampler "$APPVIEW_PID" "$WORK/appview-rss.kb"
		fi
		failed=0
		timed "push_$size" "$reg" "$CRANE" push --insecure "$img" "$ref" || failed=1
		stop_sampler
		if [[ "$reg" == atcr && "$size" == "$LARGEST" ]] && ((!failed)); then
			LARGEST_PUSHED=$((LARGEST_PUSHED + 1))
		fi
		if ((failed)); then
			record error "pull_$size" "$reg" "not run: the push failed"
			continue
		fi
		pulled="$WORK/pull-$reg"
		rm -rf "$pulled"
		if timed "pull_$size" "$reg" "$CRANE" pull --insecure --format=oci "$ref" "$pulled"; then
			verify_pull "$pulled" "$manifest" "$layer" "$layer_size" >"$WORK/verify.out" ||
				record error "pull_$size" "$reg" "$(cat "$WORK/verify.out")"
		fi
		rm -rf "$pulled"
	done
	if ((run == 1)); then
		FIRST_MANIFEST[$size]=$manifest
	fi
	rm -rf "$img"
}

# record_memory reads the high-water marks after the largest image's runs
# (reset just before them).
record_memory() {
	local kb
	kb=$(status_kb "$REFERENCE_PID" VmHWM)
	if [[ -n "$kb" ]]; then
		record run appview_peak_rss reference $((kb * 1024))
	fi
	((WITH_ATCR)) || return 0
	local hwm sampled=0
	if ((LARGEST_PUSHED == 0)); then
		record error appview_peak_rss atcr "no push of the $LARGEST MiB image succeeded"
		return 0
	fi
	hwm=$(status_kb "$APPVIEW_PID" VmHWM)
	if [[ -s "$WORK/appview-rss.kb" ]]; then
		sampled=$(sort -n "$WORK/appview-rss.kb" | tail -n 1)
		record run appview_rss_sampled atcr $((sampled * 1024))
	fi
	if [[ -n "$hwm" ]]; then
		if ((sampled > hwm)); then
			hwm=$sampled
		fi
		record run appview_peak_rss atcr $((hwm * 1024))
		log "AppView VmHWM $((hwm / 1024)) MiB, max sampled VmRSS $((sampled / 1024)) MiB"
	else
		record error appview_peak_rss atcr "the AppView (pid $APPVIEW_PID) is gone"
	fi
	if [[ -n "$HOLD_PID" ]] && kb=$(status_kb "$HOLD_PID" VmHWM) && [[ -n "$kb" ]]; then
		record run hold_hwm atcr $((kb * 1024))
	fi
}

# manifest_load REGISTRY: GETs per second of the first image's manifest.
manifest_load() {
	local reg=$1 size=${SIZES[0]} out="$WORK/manifestload-$1.out" rc=0 base user="" pass=""
	local manifest=${FIRST_MANIFEST[${SIZES[0]}]:-}
	if [[ -z "$manifest" ]]; then
		record error manifest_rps "$reg" "no image to load"
		return 0
	fi
	if [[ "$reg" == atcr ]]; then
		base="http://$ATCR_ADDR"
		user=$ATCR_USERNAME pass=$ATCR_PASSWORD
	else
		base="http://$REFERENCE_ADDR"
	fi
	MANIFESTLOAD_USERNAME=$user MANIFESTLOAD_PASSWORD=$pass "$LOAD" -registry "$base" \
		-repo "$REPO_PREFIX/bench-${size}m-1" -digest "$manifest" \
		-c "$CONCURRENCY" -d "$LOAD_DURATION" -warmup "$LOAD_WARMUP" >"$out" 2>&1 || rc=$?
	if ((rc != 0)); then
		record error manifest_rps "$reg" "$(last_line "$out")"
		log "manifest GET load on $reg FAILED: $(cat "$out")"
		return 0
	fi
	record run manifest_rps "$reg" "$(sed -n 's/.* rps=\([0-9.]*\) .*/\1/p' "$out")"
	record run manifest_p50_ms "$reg" "$(sed -n 's/.* p50_ms=\([0-9.]*\) .*/\1/p' "$out")"
	record run manifest_p99_ms "$reg" "$(sed -n 's/.* p99_ms=\([0-9.]*\) .*/\1/p' "$out")"
	meta "manifest GET on $reg" "$(cat "$out")"
	log "manifest GET on $reg: $(cat "$out")"
}

# stress runs the end-to-end stress test against the local stack (var/dev/stack.env
# names it and alice's app password), then against the reference registry (the same
# test, clients and images, its repositories under the same account name; the
# reference ignores the credentials), and records for each: failed cycles (judged for
# ATCR: none; each failure is also an error record), wall time (judged: ATCR ≤ 1.5×
# the reference's), cycles per second, and the settings and latencies as meta data.
stress() {
	((WITH_ATCR && STRESS_CYCLES > 0)) || return 0
	stress_on atcr
	stress_on reference
}

# stress_on REGISTRY: one stress run (see stress).
stress_on() {
	local reg=$1 log="$WORK/stress-$1.log" report="$WORK/stress-$1.tsv" rc=0 key value failures="" listed=0 addr=$ATCR_ADDR
	[[ "$reg" == atcr ]] || addr=$REFERENCE_ADDR
	log "stress on $reg: $STRESS_CLIENTS clients x $STRESS_CYCLES push/pull cycles of fresh 2 MiB images"
	cpu_snapshot "$reg" >"$WORK/stress-cpu-before-$reg"
	# shellcheck disable=SC2016 # $0, $1 and $@ belong to the inner bash
	(cd "$ROOT" && ATCR_STRESS_CLIENTS=$STRESS_CLIENTS ATCR_STRESS_CYCLES=$STRESS_CYCLES ATCR_STRESS_REPORT=$report \
		bash -c '. "$0"; ATCR_REGISTRY=$1; shift; exec "$@"' "$ROOT/var/dev/stack.env" "$addr" \
		go test -tags e2e -count=1 -v -timeout "$STRESS_TIMEOUT" -run '^TestStressConcurrentPushPull$' ./test/e2e/) >"$log" 2>&1 || rc=$?
	if [[ ! -s "$report" ]]; then
		record error stress_failures "$reg" "the stress test did not run (exit $rc): $(last_line "$log")"
		log "stress on $reg FAILED to run: $(tail -n 5 "$log")"
		return 0
	fi
	while IFS=$'\t' read -r key value; do
		case "$key" in
		failures) failures=$value ;;
		cycles_per_second) record run stress_cycles_per_s "$reg" "$value" ;;
		wall_seconds) record run stress_seconds "$reg" "$value" ;;
		failure)
			# A failed cycle is a push or pull that failed: an error, exit status 1.
			((listed++ < 10)) && record error stress_cycle "$reg" "$value"
			log "stress failure on $reg: $value"
			;;
		*) meta "stress on $reg: $key" "$value" ;;
		esac
	done <"$report"
	record run stress_failures "$reg" "${failures:-0}"
	stress_cpu "$reg" "$WORK/stress-cpu-before-$reg"
	if ((rc != 0)) && [[ "${failures:-0}" == 0 ]]; then
		record error stress_failures "$reg" "the stress test failed (exit $rc): $(last_line "$log")"
	fi
	log "stress on $reg: $(grep -o 'stress: .*' "$log" | head -n 1)"
}

# cpu_snapshot REGISTRY prints "NAME TICKS" (user + system CPU, in clock ticks)
# for each of the registry's processes: ATCR's from var/dev.pids (PLC, PDS,
# hold, AppView, Jetstream), the reference's one.
cpu_snapshot() {
	local pid name _
	if [[ "$1" == reference ]]; then
		echo "$REFERENCE_PID registry"
	else
		cat "$ROOT/var/dev.pids"
	fi | while read -r pid name _; do
		[[ -r "/proc/$pid/stat" ]] || continue
		# utime and stime are fields 14 and 15; the command name (field 2) may hold spaces.
		awk -v n="$name" '{ sub(/^.*\) /, ""); print n, $12 + $13 }' "/proc/$pid/stat" 2>/dev/null || true
	done
}

# stress_cpu REGISTRY BEFORE records the CPU each process used during the stress
# run (meta data, and stress_cpu_ms_<process> per cycle): a 2 MiB push/pull cycle's
# cost, process by process — where the wall time goes on a machine of 2 cores.
stress_cpu() {
	local reg=$1 before=$2 cycles=$((STRESS_CLIENTS * STRESS_CYCLES)) tck split name s
	tck=$(getconf CLK_TCK)
	split=$(cpu_snapshot "$reg" | awk -v tck="$tck" -v n="$cycles" 'NR == FNR { b[$1] = $2; next }
		($1 in b) { printf "%s%s %.1f s (%.1f ms per cycle)", sep, $1, ($2 - b[$1]) / tck, ($2 - b[$1]) * 1000 / tck / n; sep = ", " }' "$before" -)
	meta "stress on $reg: CPU per process" "${split:-not measured}"
	log "stress on $reg: CPU $split"
	while read -r name s; do
		record run "stress_cpu_ms_$name" "$reg" "$s"
	done < <(cpu_snapshot "$reg" | awk -v tck="$tck" -v n="$cycles" 'NR == FNR { b[$1] = $2; next }
		($1 in b) { printf "%s %.1f\n", $1, ($2 - b[$1]) * 1000 / tck / n }' "$before" -)
}

# scan_figure: push to scan record against the grype CLI (see the top).
scan_figure() {
	((WITH_ATCR)) && ((${#SCAN_SIZES[@]} > 0)) && [[ "${SCAN_SIZES[0]}" != 0 ]] || return 0
	local log="$WORK/scan.log" rows="$WORK/scan.tsv" rc=0 size run push to_record hold_rss grype_s grype_rss ratio
	local grype="$TOOLS_DIR/grype" version largest
	version=$(awk '$1 == "github.com/anchore/grype" {print $2}' "$ROOT/go.mod")
	if [[ ! -x "$grype" ]] || ! go version -m "$grype" 2>/dev/null | grep -q "mod[[:space:]]*github.com/anchore/grype[[:space:]]*$version"; then
		log "installing the grype CLI $version into ${TOOLS_DIR#"$ROOT"/}"
		GOBIN="$TOOLS_DIR" go install "github.com/anchore/grype/cmd/grype@$version" ||
			{ record error "scan_${SCAN_SIZES[0]}" reference "go install grype $version failed"; return 0; }
	fi
	largest=$(printf '%s\n' "${SCAN_SIZES[@]}" | sort -n | tail -n 1)
	log "scan: push to scan record of ${SCAN_SIZES[*]} MiB images against the grype CLI, $RUNS runs"
	(cd "$ROOT" && ATCR_SCAN_PUSH_BENCH=1 ATCR_GRYPE="$grype" ATCR_CRANE="$CRANE" ATCR_HOLD_BIN="$ROOT/bin/atcr-hold" \
		ATCR_SCAN_BENCH_HOLD_CONFIG="$ROOT/var/dev/hold.yaml" ATCR_SCAN_BENCH_HOLD_URL="$ATCR_HOLD_URL" \
		ATCR_SCAN_BENCH_HOLD_DID="$ATCR_HOLD_DID" ATCR_SCAN_BENCH_HOLD_PID="$HOLD_PID" \
		ATCR_SCAN_BENCH_REPO="$(target atcr bench-scan)" ATCR_SCAN_BENCH_SIZES="${SCAN_SIZES[*]}" ATCR_SCAN_BENCH_RUNS="$RUNS" \
		go test ./pkg/hold/scan/grypescan -run '^TestScanPushBench$' -count=1 -timeout 60m -v) >"$log" 2>&1 || rc=$?
	awk -F'\t' '$1 == "SCANPUSHBENCH" && $2 != "size_mib"' "$log" >"$rows"
	if ((rc != 0)) || [[ ! -s "$rows" ]]; then
		record error "scan_${SCAN_SIZES[0]}" atcr "the scan benchmark failed (exit $rc): $(last_line "$log")"
		log "scan FAILED: $(tail -n 5 "$log")"
		return 0
	fi
	while IFS=$'\t' read -r _ size run push to_record hold_rss grype_s grype_rss ratio; do
		record run "scan_$size" atcr "$to_record"
		record run "scan_$size" reference "$grype_s"
		if [[ "$size" == "$largest" ]]; then
			record run scan_hold_rss atcr "$((hold_rss * 1048576))"
			record run scan_hold_rss reference "$((grype_rss * 1048576))"
		fi
		log "scan $size MiB run $run: push ${push}s, push end to record ${to_record}s (hold peak ${hold_rss} MiB), grype CLI ${grype_s}s (${grype_rss} MiB): ${ratio}x"
	done <"$rows"
}

main() {
	parse_args "$@"
	mkdir -p "$OUT"
	rm -rf "$WORK" "$DOCKER_CONFIG" "$RAW"
	mkdir -p "$WORK" "$DOCKER_CONFIG"
	echo "# bench/run.sh raw measurements; bench/report turns them into results.md" >"$RAW"
	build_tools
	install_reference_registry
	LARGEST=$(printf '%s\n' "${SIZES[@]}" | sort -n | tail -n 1)
	declare -gA FIRST_MANIFEST=()
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	write_meta
	start_reference_registry "$OUT/reference"
	if ((WITH_ATCR)); then
		start_atcr
	fi
	warm_up
	local size run t0
	t0=$(now_ms)
	for size in "${SIZES[@]}"; do
		for ((run = 1; run <= RUNS; run++)); do
			if [[ "$size" == "$LARGEST" && "$run" == 1 ]]; then
				reset_hwm "$REFERENCE_PID" "$APPVIEW_PID" "$HOLD_PID"
			fi
			log "size $size MiB, run $run of $RUNS"
			one_run "$size" "$run"
		done
		if [[ "$size" == "$LARGEST" ]]; then
			record_memory
		fi
	done
	manifest_load reference
	if ((WITH_ATCR)); then
		manifest_load atcr
	fi
	mixed_load
	mixed_costs
	stress
	scan_figure
	mixed_cluster
	log "measured in $(elapsed "$t0") s"
	meta "load average at end" "$(cut -d' ' -f1-3 /proc/loadavg)"
	local rc=0
	"$REPORT" -in "$RAW" -md "$OUT/results.md" || rc=$?
	log "results: ${OUT#"$ROOT"/}/results.md (raw: ${RAW#"$ROOT"/})"
	return "$rc"
}

main "$@"
