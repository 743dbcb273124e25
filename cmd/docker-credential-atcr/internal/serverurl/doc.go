// Package serverurl turns the many spellings of a registry address into one
// key and one base URL.
//
// Docker hands a credential helper "atcr.io", "https://atcr.io" or
// "atcr.io/v2/" for the same registry, and users type any of them too. Key
// maps every spelling to "host[:port]" (lowercase), the string Docker looks
// up in config.json's credHelpers and the helper uses to index its accounts.
// BaseURL adds the scheme the helper talks HTTP with: https by default, plain
// http only for loopback hosts or when the user asks for it with --insecure.
package serverurl
