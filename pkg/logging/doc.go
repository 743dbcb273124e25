// Package logging sets up log/slog for both binaries and lets an operator
// raise the level to debug at runtime.
//
// New builds the logger on a slog.LevelVar and returns a *LevelToggle for
// it. Sending SIGUSR1 to the process (Watch wires the signal) switches to
// debug; a second SIGUSR1, or 30 minutes without one, switches back to the
// configured level, so a forgotten debug session cannot fill the disk. Each
// switch is logged whatever the current level:
//
//	msg="Log level changed" from=INFO to=DEBUG trigger=SIGUSR1 auto_revert_in=30m0s
//	msg="Log level changed" from=DEBUG to=INFO trigger=auto_revert
//
// Middleware logs one line per HTTP request for both servers.
//
// The package is a leaf: it imports no other atcr package.
package logging
