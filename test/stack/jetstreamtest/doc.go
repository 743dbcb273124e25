//go:build stack

// Package jetstreamtest runs a real Jetstream (github.com/bluesky-social/
// jetstream, pinned in test/stack/install.sh) against a real PLC and PDS
// (test/stack/pds.mjs) on loopback ports of their own, for tests of the
// AppView's Jetstream consumer. It needs `make stack-deps` (Node 22 and the
// PDS under test/node_modules); Build compiles bin/tools/jetstream on first
// use (about a minute, then cached) through install.sh's install_jetstream.
//
//	pds := jetstreamtest.StartPDS(t)        // PLC + PDS, alice.test and bob.test
//	js := jetstreamtest.StartJetstream(t, pds)
//	alice := pds.Login(t, 0)
//	alice.CreateRecord(t, "io.atcr.sailor.star", "3k…", record)
//	// consume js.URL (ws://127.0.0.1:<port>) with pkg/appview/jetstream
//
// The PLC runs with --plc-multikey-docs: Jetstream verifies every commit's
// signature against the DID document and cannot read @did-plc/server
// 0.0.1's legacy key format. Jetstream runs with --backfill-repos (its
// normal start-up asks the relay for listHosts, which a PDS refuses) and
// then follows the PDS's com.atproto.sync.subscribeRepos directly.
//
// Everything here stops when the test ends; the data directories are the
// test's temporary directories. The package is built only with the stack
// tag, like the tests that use it.
package jetstreamtest
