// Package atomicfile replaces a file's contents in one step, so a reader (a
// concurrent `docker-credential-atcr get`, Docker reading config.json) sees
// the old file or the new one and never a half-written one.
package atomicfile
