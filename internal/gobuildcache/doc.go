// Package gobuildcache reads and writes entries of a Go build cache directory
// in the go command's own layout (GOCACHE: <aa>/<action>-a index entries
// naming <aa>/<output>-d files), and serves its entries over HTTP.
//
// It exists for the compose test's image builds (test/stack/docker-lib.sh):
// modproxy serves the host's GOCACHE with [Handler], and gocacheprog, the
// GOCACHEPROG of the stand-in Go base image, fetches from it what the
// Dockerfiles' `go build` asks for and keeps it in a [Dir] of its own. The
// host has compiled the same packages with the same toolchain and flags
// (CGO_ENABLED=0, -trimpath) for its own tests and binaries, so the image
// build links instead of compiling the hold's ~2,000 packages again.
// The go command's cache keys (action IDs) hash the toolchain, the flags and
// every input file, so an entry found is exactly what compiling would give.
package gobuildcache
