// Package stack holds the scripts that start ATCR's development and
// end-to-end stacks (install.sh, run.sh, stop.sh, e2e.sh, pds.mjs) and the
// Caddy overlay of the end-to-end stack (caddy/). Its Go tests check the
// Caddy configuration: deploy/Caddyfile as production loads it, and with the
// overlay as test/stack/e2e.sh loads it; and that every installer of
// bin/tools (install.sh, test/conformance) gets from an empty tools directory
// to its install step and reports a failure there.
//
// With the stack tag (test/stack/e2e.sh runs them) its tests also check
// the local stack's life cycle. jetstreamtest runs a real Jetstream for the
// consumer's integration test in pkg/appview/jetstream.
//
//	go test ./test/stack/
package stack
