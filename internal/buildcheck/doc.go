// Package buildcheck holds tests about the repository itself rather than
// about one package: the dependency rules of the package map in
// docs/architecture.md, a doc.go in every package, file sizes, and the
// Dockerfiles. It has no code of its own.
package buildcheck
