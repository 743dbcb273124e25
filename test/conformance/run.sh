#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# make conformance: the OCI distribution-spec conformance suite against ATCR.
#
#   test/conformance/run.sh              inside the end-to-end stack (test/stack/e2e.sh run):
#                                        https://atcr.internal with Caddy's TLS, alice's handle
#                                        and app password, every feature switch on;
#                                        results in var/conformance/results/
#   test/conformance/run.sh --reference  the same suite and switches against distribution
#                                        v3.1.2 started here (filesystem storage, random
#                                        loopback port, plain HTTP): the baseline;
#                                        results in var/conformance/reference/results/
#   test/conformance/run.sh --cluster    inside the end-to-end stack's cluster shape
#                                        (ATCR_E2E_CLUSTER=1: Caddy round robin over two
#                                        AppViews on PostgreSQL and Redis, no stickiness, so
#                                        an upload's requests alternate between them);
#                                        results in var/conformance/cluster/results/
#   test/conformance/run.sh --local      against the local stack (make run), plain HTTP on
#                                        127.0.0.1:5000; uses a running one or starts one
#                                        in the background and stops it afterwards;
#                                        results in var/conformance/local/results/
#   test/conformance/run.sh --build      only build bin/tools/oci-conformance
#
# The suite is github.com/opencontainers/distribution-spec/conformance at a pinned
# pseudo-version, copied out of the module cache into var/conformance/src and built
# there once (a stamp records the version). Any OCI_* variable already set in the
# environment wins over the script's value, e.g. OCI_FILTER_TEST="OCI Conformance
# Test/image" or OCI_DATA_SPARSE=true. docs/conformance.md explains every switch.
#
# Prints "conformance: P passed, F failed, S skipped of T" and the failing tests by
# category (pull, push, content discovery, content management). Exit status: 0 when
# nothing failed, 1 when a test failed, 2 when the suite could not run at all.
set -euo pipefail
# shellcheck disable=SC2034 # STACK_LOG_TAG is read by lib.sh
STACK_LOG_TAG=conformance
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../stack/lib.sh
. "$HERE/../stack/lib.sh"
# shellcheck source=reference.sh
. "$HERE/reference.sh"

SUITE_MODULE=github.com/opencontainers/distribution-spec/conformance
SUITE_VERSION=v0.0.0-20260831232431-97274622c111
SUITE_BIN="$TOOLS_DIR/oci-conformance"
SUITE_STAMP="$TOOLS_DIR/.oci-conformance.version"
SUMMARY_BIN="$TOOLS_DIR/conformance-junit"
WORK="$ROOT/var/conformance"
SELF="$HERE/run.sh"

# build_suite builds bin/tools/oci-conformance from the pinned module version, or
# keeps the binary when its stamp names that version.
build_suite() {
	if [[ -x "$SUITE_BIN" && -f "$SUITE_STAMP" && "$(cat "$SUITE_STAMP")" == "$SUITE_VERSION" ]]; then
		log "suite: present ($SUITE_VERSION)"
		return 0
	fi
	local t0 dir json
	command -v go >/dev/null || die "go is required to build the conformance suite"
	t0=$(now_ms)
	log "suite: go mod download $SUITE_MODULE@$SUITE_VERSION"
	# Outside any module: the download must not touch ATCR's go.mod. With -json
	# go reports a failure on stdout, so it goes into the message.
	json=$(cd / && go mod download -json "$SUITE_MODULE@$SUITE_VERSION" 2>&1) ||
		die "go mod download of $SUITE_MODULE@$SUITE_VERSION failed: $(tr -s ' \t\n' ' ' <<<"$json" | cut -c1-500)"
	dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")
	[[ -n "$dir" && -f "$dir/go.mod" ]] || die "go mod download gave no module directory for $SUITE_MODULE@$SUITE_VERSION"
	rm -rf "$WORK/src" "$SUITE_STAMP"
	mkdir -p "$WORK" "$TOOLS_DIR"
	# The module cache is read-only; the copy is a module of its own (its go.mod),
	# built with its own go.sum.
	cp -r "$dir" "$WORK/src"
	chmod -R u+w "$WORK/src"
	(cd "$WORK/src" && go build -o "$SUITE_BIN" .) >&2 || die "go build of the conformance suite failed"
	echo "$SUITE_VERSION" >"$SUITE_STAMP"
	log "suite: built bin/tools/oci-conformance in $(elapsed "$t0") s"
}

# build_summary builds the junit.xml summariser (test/conformance/junit); go's
# build cache makes this a no-op when nothing changed.
build_summary() {
	(cd "$ROOT" && go build -o "$SUMMARY_BIN" ./test/conformance/junit) >&2 ||
		die "go build ./test/conformance/junit failed"
}

# suite_switches exports every OCI_API_* / OCI_DATA_* switch of the suite,
# each one on unless the environment already sets it. The suite's own defaults
# leave off the four "1.1+dev" checks (digest headers, upload cancel, tag
# parameters); they are on here. OCI_DATA_SPARSE stays off: it checks that a
# registry *accepts* manifests naming blobs it does not hold, which the spec lets
# a registry refuse (MANIFEST_BLOB_UNKNOWN) and which ATCR refuses by design.
suite_switches() {
	local kv name
	for kv in \
		OCI_VERSION=1.1 OCI_LOG=warn OCI_CACHE_AUTH=true \
		OCI_API_PING=true OCI_API_PULL=true OCI_API_PUSH=true \
		OCI_API_BLOBS_ATOMIC=true OCI_API_BLOBS_DELETE=true OCI_API_BLOBS_DIGEST_HEADER=true \
		OCI_API_BLOBS_MOUNT_ANONYMOUS=true OCI_API_BLOBS_UPLOAD_CANCEL=true \
		OCI_API_MANIFESTS_ATOMIC=true OCI_API_MANIFESTS_DELETE=true \
		OCI_API_MANIFESTS_DIGEST_HEADER=true OCI_API_MANIFESTS_TAG_PARAM=true \
		OCI_API_TAGS_ATOMIC=true OCI_API_TAGS_DELETE=true OCI_API_TAGS_LIST=true \
		OCI_API_REFERRER=true \
		OCI_DATA_IMAGE=true OCI_DATA_INDEX=true OCI_DATA_INDEX_LIST=true OCI_DATA_SPARSE=false \
		OCI_DATA_ARTIFACT=true OCI_DATA_SUBJECT=true OCI_DATA_SUBJECT_MISSING=true \
		OCI_DATA_ARTIFACT_LIST=true OCI_DATA_SUBJECT_LIST=true OCI_DATA_DATA_FIELD=true \
		OCI_DATA_NONDISTRIBUTABLE=true OCI_DATA_CUSTOM_FIELDS=true OCI_DATA_NO_LAYERS=true \
		OCI_DATA_EMPTY_BLOB=true OCI_DATA_SHA512=true; do
		name=${kv%%=*}
		# shellcheck disable=SC2163 # exports the NAME=value pair in $kv
		[[ -n "${!name:-}" ]] || export "$kv"
	done
}

# run_suite RESULTS_DIR REGISTRY TLS REPO_PREFIX [USERNAME PASSWORD] runs the suite
# once; its own exit status (1 on any failure) is ignored, the junit.xml decides.
run_suite() {
	local results=$1 registry=$2 tls=$3 prefix=$4 user=${5:-} pass=${6:-} t0
	rm -rf "$results"
	mkdir -p "$results"
	suite_switches
	export OCI_REGISTRY="$registry" OCI_TLS="$tls" OCI_RESULTS_DIR="$results"
	export OCI_REPO1="${OCI_REPO1:-$prefix/conformance/repo1}" OCI_REPO2="${OCI_REPO2:-$prefix/conformance/repo2}"
	if [[ -n "$user" ]]; then
		export OCI_USERNAME="$user" OCI_PASSWORD="$pass"
	fi
	log "suite: $OCI_REGISTRY (tls $OCI_TLS) repos $OCI_REPO1, $OCI_REPO2${user:+, user $user}"
	t0=$(now_ms)
	# Run from the results directory so no stray ./oci-conformance.yaml is picked up.
	(cd "$results" && "$SUITE_BIN" >"$results/suite.log" 2>&1) || true
	log "suite: finished in $(elapsed "$t0") s (output: ${results#"$ROOT"/}/suite.log)"
}

# summarise RESULTS_DIR prints the summary and exits with its status.
summarise() {
	local junit="$1/junit.xml" rc=0
	if [[ ! -s "$junit" ]]; then
		log "no $junit: the suite did not run to the end; its output:"
		tail -n 30 "$1/suite.log" >&2 2>/dev/null || true
		exit 2
	fi
	"$SUMMARY_BIN" "$junit" || rc=$?
	log "report: ${1#"$ROOT"/}/report.html, junit: ${junit#"$ROOT"/}"
	exit "$rc"
}

# mode_stack [RESULTS_DIR]: the namespace stack (make e2e's), the suite inside it;
# with ATCR_E2E_CLUSTER=1 in the environment, its cluster shape.
mode_stack() {
	local results=${1:-$WORK/results}
	rm -rf "$results"
	"$ROOT/test/stack/e2e.sh" run -- "$SELF" --in-namespace "$results" || true
	summarise "$results"
}

# mode_in_namespace runs inside the namespace, where e2e.sh has sourced
# var/e2e/stack.env and SSL_CERT_FILE names the bundle with Caddy's root.
mode_in_namespace() {
	local results=$1
	[[ -n "${ATCR_REGISTRY:-}" && -n "${ATCR_USERNAME:-}" && -n "${ATCR_PASSWORD:-}" ]] ||
		die "--in-namespace expects var/e2e/stack.env in the environment (run through test/stack/e2e.sh)"
	[[ "${ATCR_REGISTRY_SCHEME:-https}" == https ]] || die "the e2e stack is expected to serve https"
	run_suite "$results" "$ATCR_REGISTRY" enabled "$ATCR_USERNAME" "$ATCR_USERNAME" "$ATCR_PASSWORD"
}

# mode_reference: distribution v3 started here, plain HTTP, no credentials.
mode_reference() {
	install_reference_registry
	local dir="$WORK/reference"
	trap 'stop_reference_registry' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	start_reference_registry "$dir/registry"
	# The same repository names as on ATCR, so both runs push the same paths.
	run_suite "$dir/results" "$REFERENCE_ADDR" disabled alice.pds.test
	stop_reference_registry
	summarise "$dir/results"
}

# mode_local: the local stack (make run), plain HTTP with insecure_local_dev.
mode_local() {
	local env_file="$ROOT/var/dev/stack.env" started=0
	if ! previous_stack_running "$ROOT/var/dev.pids"; then
		"$ROOT/test/stack/run.sh" --background
		started=1
		trap '"$ROOT/test/stack/stop.sh" dev' EXIT
	fi
	# shellcheck disable=SC1090
	. "$env_file"
	# Blob GETs end at the presigned URL of the hold's embedded S3 server,
	# which cannot send Docker-Content-Digest; the e2e stack's pull zone adds
	# it (docs/conformance.md). Here that one check is off unless asked for.
	if [[ -z "${OCI_API_BLOBS_DIGEST_HEADER:-}" ]]; then
		log "local mode: OCI_API_BLOBS_DIGEST_HEADER=false (no pull zone in front of S3 here)"
		export OCI_API_BLOBS_DIGEST_HEADER=false
	fi
	run_suite "$WORK/local/results" "$ATCR_REGISTRY" disabled "$ATCR_USERNAME" "$ATCR_USERNAME" "$ATCR_PASSWORD"
	if ((started)); then
		trap - EXIT
		"$ROOT/test/stack/stop.sh" dev
	fi
	summarise "$WORK/local/results"
}

main() {
	case "${1:-}" in
	"")
		build_suite
		build_summary
		mode_stack
		;;
	--reference)
		build_suite
		build_summary
		mode_reference
		;;
	--cluster)
		build_suite
		build_summary
		export ATCR_E2E_CLUSTER=1
		mode_stack "$WORK/cluster/results"
		;;
	--local)
		build_suite
		build_summary
		mode_local
		;;
	--build) build_suite ;;
	--in-namespace)
		[[ $# == 2 ]] || die "usage: $0 --in-namespace RESULTS_DIR"
		mode_in_namespace "$2"
		;;
	*) die "usage: $0 [--cluster | --reference | --local | --build]" ;;
	esac
}

main "$@"
