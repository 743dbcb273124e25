// Package startup is what both binaries do before they serve: build the
// logger from config (with the SIGUSR1 debug toggle watching), and derive a
// context that ends on SIGTERM or SIGINT. It keeps the two mains identical in
// the parts that should be identical.
package startup
