#!/usr/bin/env bash
# make fuzz: every Go fuzz target of the project, for a bounded time each.
#
#   test/fuzz/run.sh                      every target, $FUZZTIME each (default 3s)
#   test/fuzz/run.sh FuzzVerify FuzzLoad  only those targets
#   FUZZTIME=2m FUZZ_PARALLEL=1 test/fuzz/run.sh   a longer hunt with one worker
#   test/fuzz/run.sh --list               print "package target" per line
#
# Targets are found by their `func FuzzX(f *testing.F)` line in the *_test.go
# files under pkg/, internal/ and cmd/, so a new target runs without being
# listed anywhere. `go test -fuzz` takes one target per run, hence one run per
# target: `go test -run '^$' -fuzz '^FuzzX$' -fuzztime $FUZZTIME ./pkg/...`.
# The first run of a package compiles it and its dependencies with coverage
# instrumentation (cached in GOCACHE afterwards). -vet=off: make check has
# vetted the same code.
#
# A failure leaves the crashing input in <package>/testdata/fuzz/<Target>/:
# fix the code and commit that file — every plain `go test` then runs it as a
# seed, so the crasher stays a test case. A run cut only by Go 1.26's
# -fuzztime deadline race (see deadline_race) is retried once, not failed.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-3s}
FUZZ_PARALLEL=${FUZZ_PARALLEL:-}

# targets prints "./dir FuzzName" for every fuzz target, sorted.
targets() {
	grep -rE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' pkg internal cmd |
		sed -E 's|^([^:]*)/[^/:]*:func (Fuzz[A-Za-z0-9_]*)\(.*|./\1 \2|' | sort -u
}

if [[ ${1:-} == --list ]]; then
	targets
	exit 0
fi

# deadline_race reports whether a failed run's log is only Go's fuzzing
# coordinator racing its own -fuzztime deadline (golang/go#75804, fixed in Go
# 1.27, present in every 1.26.x): "context deadline exceeded" at the end of
# the window, no failing input written, no panic, no test failure of ours.
# A real finding always prints "Failing input written to testdata/fuzz/...".
deadline_race() {
	local log=$1
	grep -q 'context deadline exceeded' "$log" &&
		! grep -qE 'Failing input written|panic:|fuzzing process hung|_test\.go:[0-9]+:' "$log"
}

# run_target runs one target once into $log; its status is go test's.
run_target() {
	local dir=$1 name=$2 log=$3
	local args=(test -vet=off -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME")
	[[ -z $FUZZ_PARALLEL ]] || args+=(-parallel "$FUZZ_PARALLEL")
	"$GO" "${args[@]}" "$dir" >"$log" 2>&1
}

want=" $* "
failed=()
raced=()
n=0
t_all=$(date +%s%N)
while read -r dir name; do
	[[ $# -eq 0 || $want == *" $name "* ]] || continue
	n=$((n + 1))
	t0=$(date +%s%N)
	log="${TMPDIR:-/tmp}/atcr-fuzz-$name.log"
	status=ok
	if ! run_target "$dir" "$name" "$log"; then
		status=FAIL
		if deadline_race "$log"; then
			# The race, not a finding: run the target again once. A second
			# race is reported but does not fail the run — nothing was found.
			if run_target "$dir" "$name" "$log"; then
				status=ok
			elif deadline_race "$log"; then
				status=raced
				raced+=("$name")
			fi
		fi
	fi
	elapsed="$((($(date +%s%N) - t0) / 1000000))e-3"
	case $status in
	ok)
		printf '[fuzz] %-28s %-32s ok   %5.1f s  %s\n' "$name" "$dir" "$elapsed" \
			"$(grep -o 'execs: [0-9]*' "$log" | tail -1 || true)"
		;;
	raced)
		printf '[fuzz] %-28s %-32s ok   %5.1f s  twice cut by the -fuzztime deadline race (golang/go#75804), no input found\n' \
			"$name" "$dir" "$elapsed"
		;;
	*)
		printf '[fuzz] %-28s %-32s FAIL %5.1f s\n' "$name" "$dir" "$elapsed"
		sed 's/^/    /' "$log"
		failed+=("$name")
		;;
	esac
	rm -f "$log"
done < <(targets)
((n > 0)) || { echo "[fuzz] no fuzz target matched: $*" >&2; exit 2; }
printf '[fuzz] %d targets, %s each, %.1f s in all\n' "$n" "$FUZZTIME" "$((($(date +%s%N) - t_all) / 1000000))e-3"
if ((${#failed[@]} > 0)); then
	echo "[fuzz] failed: ${failed[*]} (the crashing inputs are in the packages' testdata/fuzz/<Target>/: fix, then commit them)" >&2
	exit 1
fi
