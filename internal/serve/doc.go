// Package serve runs an http.Server until its context ends, then shuts it down
// gracefully: the listener closes, in-flight requests get the configured time
// to finish. Both binaries use it so they stop the same way on SIGTERM and
// SIGINT. The AppView, which may sit behind a load balancer, drains first
// (RunWith, drain.go): it goes on answering, its health check failing, until
// the balancer has taken it out of rotation.
package serve
