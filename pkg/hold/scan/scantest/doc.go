// Package scantest is test support for the scanning engine, for unit
// tests and end-to-end tests alike, all offline:
//
//   - a small Grype schema-6 vulnerability database built at test time
//     from vunnel-format fixtures (testdata/vunnel) with grype/db.Build, as
//     grype's own testdb does, and an importable archive of it (what
//     vulndb.Import and `atcr-hold scanner db import` accept);
//   - Blobs, a scan.Blobs over files in a directory, with helpers that
//     stream layers into it (so a layer of a gigabyte never sits in memory)
//     and assemble an image and its OCI layout;
//   - layers: a vulnerable alpine 3.17 layer (bind 9.18.0-r0, which the
//     database says has CVE-2022-38178, fixed in 9.18.7-r0) and hostile ones
//     (a tar bomb, .. and absolute paths, a symlink out of the root with a
//     file written through it, millions of tiny files, a huge sparse file
//     header, a layer whose bytes do not match its digest).
package scantest
