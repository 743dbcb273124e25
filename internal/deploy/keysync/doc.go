// Package keysync adds to an operator's config file the keys a newer
// template has and the file lacks, and changes nothing else: every existing
// line — values, comments, blank lines, order — stays byte for byte, and the
// new keys arrive with their template comments next to their template
// neighbours. It knows two formats: YAML (the atcr-hold and atcr-appview
// config files, read with gopkg.in/yaml.v3 nodes for structure and edited
// as text so nothing is re-encoded) and .env files (KEY=VALUE lines, as
// Docker Compose reads them).
//
// A file it cannot parse is refused with a *ParseError naming the file and
// line; the caller leaves such a file untouched.
package keysync
