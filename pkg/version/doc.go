// Package version reports the build's version string, set at link time by the
// Makefile (-X atcr.io/pkg/version.Version=...) and shown by /xrpc/_health,
// the binaries' version commands and the credential helper.
package version
