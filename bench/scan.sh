#!/usr/bin/env bash
# bench/scan.sh: the hold's scanning engine (pkg/hold/scan/grypescan) against the
# grype CLI of the same version, on the same image and a copy of the same database.
#
#   bench/scan.sh                 sizes 50 and 500 MiB, one run each
#   options: --sizes "50 500" (MiB)  --runs N
#
# For each size an image is built offline: a layer of that many MiB of random
# (incompressible) bytes plus an Alpine 3.17 layer with bind 9.18.0-r0 installed; the
# test vulnerability database (pkg/hold/scan/scantest, built at run time, no network)
# says it has CVE-2022-38178. The engine scans it from a blob directory in a process of
# its own (the grypescan test binary re-run as a child); the CLI runs
# `grype oci-dir:<layout> -o json` with GRYPE_DB_CACHE_DIR on a copy of the database,
# auto-update and age validation off. Both must find the CVE. Printed per size: wall
# time and peak RSS (getrusage maxrss) of each process and the engine/CLI time ratio
# (target ≤ 1.3). The rows also go to var/bench/scan.tsv.
#
# The grype CLI is installed into bin/tools when missing (go install, needs the Go
# module cache or the module proxy).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS_DIR="$ROOT/bin/tools"
GRYPE_VERSION=$(awk '$1 == "github.com/anchore/grype" {print $2}' "$ROOT/go.mod")
SIZES="50 500"
RUNS=1

while (($#)); do
	case "$1" in
	--sizes) SIZES="$2"; shift 2 ;;
	--runs) RUNS="$2"; shift 2 ;;
	*) echo "usage: $0 [--sizes \"50 500\"] [--runs N]" >&2; exit 2 ;;
	esac
done

GRYPE="$TOOLS_DIR/grype"
# `grype version` says "[not provided]" for a go-installed binary: ask the build info.
if [[ ! -x "$GRYPE" ]] || ! go version -m "$GRYPE" 2>/dev/null | grep -q "mod[[:space:]]*github.com/anchore/grype[[:space:]]*$GRYPE_VERSION"; then
	echo "installing grype $GRYPE_VERSION into $TOOLS_DIR" >&2
	GOBIN="$TOOLS_DIR" go install "github.com/anchore/grype/cmd/grype@$GRYPE_VERSION"
fi

OUT="$ROOT/var/bench"
mkdir -p "$OUT"
cd "$ROOT"
ATCR_SCAN_BENCH=1 ATCR_GRYPE="$GRYPE" ATCR_SCAN_BENCH_SIZES="$SIZES" ATCR_SCAN_BENCH_RUNS="$RUNS" \
	go test ./pkg/hold/scan/grypescan -run '^TestScanBench$' -count=1 -timeout 60m -v |
	tee "$OUT/scan.log" | awk -F'\t' '$1 == "SCANBENCH" {sub(/^SCANBENCH\t/, ""); print}' >"$OUT/scan.tsv"
if [[ $(wc -l <"$OUT/scan.tsv") -lt 2 ]]; then
	echo "scan benchmark failed; see $OUT/scan.log" >&2
	exit 1
fi
column -t -s $'\t' "$OUT/scan.tsv"
