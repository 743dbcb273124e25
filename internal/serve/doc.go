// Package serve runs an http.Server until its context ends, then shuts it down
// gracefully: the listener closes at once, in-flight requests get the
// configured time to finish. Both binaries use it so they stop the same way on
// SIGTERM and SIGINT.
package serve
