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
# seed, so the crasher stays a test case.
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

want=" $* "
failed=()
n=0
t_all=$(date +%s%N)
while read -r dir name; do
	[[ $# -eq 0 || $want == *" $name "* ]] || continue
	n=$((n + 1))
	t0=$(date +%s%N)
	args=(test -vet=off -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME")
	[[ -z $FUZZ_PARALLEL ]] || args+=(-parallel "$FUZZ_PARALLEL")
	if "$GO" "${args[@]}" "$dir" >"${TMPDIR:-/tmp}/atcr-fuzz-$name.log" 2>&1; then
		printf '[fuzz] %-28s %-32s ok   %5.1f s  %s\n' "$name" "$dir" "$((($(date +%s%N) - t0) / 1000000))e-3" \
			"$(grep -o 'execs: [0-9]*' "${TMPDIR:-/tmp}/atcr-fuzz-$name.log" | tail -1 || true)"
	else
		printf '[fuzz] %-28s %-32s FAIL %5.1f s\n' "$name" "$dir" "$((($(date +%s%N) - t0) / 1000000))e-3"
		sed 's/^/    /' "${TMPDIR:-/tmp}/atcr-fuzz-$name.log"
		failed+=("$name")
	fi
	rm -f "${TMPDIR:-/tmp}/atcr-fuzz-$name.log"
done < <(targets)
((n > 0)) || { echo "[fuzz] no fuzz target matched: $*" >&2; exit 2; }
printf '[fuzz] %d targets, %s each, %.1f s in all\n' "$n" "$FUZZTIME" "$((($(date +%s%N) - t_all) / 1000000))e-3"
if ((${#failed[@]} > 0)); then
	echo "[fuzz] failed: ${failed[*]} (the crashing inputs are in the packages' testdata/fuzz/<Target>/: fix, then commit them)" >&2
	exit 1
fi
