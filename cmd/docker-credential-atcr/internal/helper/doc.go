// Package helper implements the Docker credential-helper protocol's storage
// side (credentials.Helper from github.com/docker/docker-credential-helpers)
// over the helper's own accounts file.
//
// The protocol knows one user name per server; the helper keeps several
// accounts per registry. Get answers with the account named by the image
// reference on the parent's command line when there is one, else with the
// registry's active account. Get never talks to the network and never
// prompts: without an account it returns the protocol's not-found error at
// once (Docker then proceeds anonymously) and prints a login hint.
package helper
