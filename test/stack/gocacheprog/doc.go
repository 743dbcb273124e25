// Command gocacheprog is a GOCACHEPROG (the go command's external build
// cache protocol, cmd/go/internal/cacheprog) that keeps the cache in a
// directory of its own and, on a miss, asks a read-only HTTP build cache
// (modproxy -gocache, serving the host's GOCACHE) before the go command
// compiles the package itself.
//
//	GOCACHEPROG="gocacheprog -url http://127.0.0.1:PORT/_gocache/ [-dir DIR]"
//
// DIR defaults to $GOCACHE/gocacheprog (the go command sets GOCACHE for its
// helpers), which in the Dockerfiles is BuildKit's cache mount, so a second
// image build finds everything locally. Every fetched output is checked
// against its output ID (SHA-256) before it is used. A remote that cannot be
// reached counts as a miss: the build compiles, as it would without the
// helper. On exit it prints one line of counts to stderr, which the compose
// test's build log shows.
//
// The compose test (test/stack/docker-lib.sh) builds it statically into the
// stand-in Go base image and passes it to the real Dockerfiles through their
// GOCACHEPROG build argument.
package main
