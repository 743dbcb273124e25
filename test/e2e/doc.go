// Package e2e holds the end-to-end tests of ATCR (build tag e2e). They run
// inside the private network namespace of test/stack/e2e.sh, against the real
// binaries, a real PDS and PLC, and Caddy serving https://atcr.internal,
// https://hold.test, https://pds.test, https://plc.test and the pull zone
// https://blobs.test from its internal CA. The stack's URLs, DIDs and
// passwords arrive as ATCR_* environment variables (var/e2e/stack.env); the
// trust bundle arrives as SSL_CERT_FILE, which Go's system pool reads.
//
//	make e2e                                  # or: test/stack/e2e.sh
//	test/stack/e2e.sh test -run TestHandle    # a subset
package e2e
