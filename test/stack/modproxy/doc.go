// Command modproxy serves this machine's Go module download cache
// ($(go env GOMODCACHE)/cache/download, which has the GOPROXY protocol's
// layout) over plain HTTP on a loopback port. The compose test
// (test/stack/docker-lib.sh) puts it first in the GOPROXY it passes to the
// real Dockerfiles, so an image build on a fresh machine takes the modules
// `make build` already downloaded instead of fetching them all again; a
// module it lacks answers 404 and the Go tool falls through to the next
// proxy in the list.
//
// With -gocache it also serves that Go build cache (the host's GOCACHE),
// read-only, under /_gocache/<action ID> (package internal/gobuildcache): the stand-in
// Go base image's GOCACHEPROG (test/stack/gocacheprog) takes from it the
// packages the host has already compiled with the images' flags.
//
//	modproxy -addr-file FILE [-gocache GOCACHE] DIR
//
// prints nothing; it writes the address it listens on to FILE and serves
// until killed.
package main
