package version

import "runtime/debug"

// Version is the release or git description of this build. The Makefile sets
// it; a plain `go build` or `go install` falls back to the module version.
var Version = ""

// String returns Version, or the module version recorded by the Go toolchain,
// or "dev" when neither is known.
func String() string {
	if Version != "" {
		return Version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}
