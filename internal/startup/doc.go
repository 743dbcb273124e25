// Package startup is what both binaries share around serving: build the
// logger from config (with the SIGUSR1 debug toggle watching), derive a
// context that ends on SIGTERM or SIGINT, the guarded HTTP client's options
// from the identity section, and the `config init`, `version` and `healthcheck` commands (the last for container health checks). It keeps the two mains identical in the parts that
// should be identical; each main keeps its own root and serve commands.
package startup
