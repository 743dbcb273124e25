// Package dockerconfig edits Docker's config.json to route a registry to
// this helper: "credHelpers": {"atcr.io": "atcr"}.
//
// The file belongs to Docker and to every other tool that writes it, so the
// edit is surgical: the document is decoded into raw top-level values, only
// credHelpers is touched, and the file is replaced atomically with its mode
// kept. A file that is not valid JSON is left alone with an error.
package dockerconfig
