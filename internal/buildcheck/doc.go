// Package buildcheck holds tests about the repository itself rather than
// about one package: the dependency rules of the package map in
// docs/architecture.md (deps_test.go: direct imports; binaries_test.go: what
// each binary links, transitively), the list of test-support packages
// (testsupport_test.go), a doc.go in every package, file sizes, and the
// Dockerfiles and systemd units. It has no code of its own.
package buildcheck
