// Package config loads the configuration of atcr-hold and atcr-appview.
//
// Both binaries read one YAML file, then let environment variables override
// single keys, then fill the defaults that depend on other keys, then
// validate. Each step is driven by the struct tags of HoldConfig and
// AppViewConfig:
//
//	yaml:"bucket"   the key in the file
//	env:"S3_BUCKET" the environment variable that overrides it
//	comment:"…"     the one-line explanation written by `config init`
//
// so the file format, the environment names and the generated template
// cannot drift apart. Decoding is strict: an unknown key, a value of the wrong
// type or an invalid value stops start-up with an *Error that names the key
// and where it came from (file and line, or environment variable).
//
// A key left out of the file, or given an empty (null) value, keeps its
// default. An environment variable set to the empty string counts as unset,
// so compose files can pass `${VAR}` through without clearing a default.
//
// Production mode is insecure_local_dev: false. It requires the public URL
// (https) and the owner or default-hold DID, and forbids the local handle
// resolver. With insecure_local_dev on, the public URL defaults to a loopback
// address and any non-loopback public URL is refused, so the switch cannot
// be left on by accident on a reachable server.
//
// The package is a leaf: it imports no other atcr package.
package config
