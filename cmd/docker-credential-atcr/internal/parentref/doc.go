// Package parentref finds out which identity an image reference on the
// parent process's command line belongs to.
//
// Docker and crane call `docker-credential-atcr get` with only the registry
// host on stdin, so a helper with several accounts for one registry cannot
// tell from the protocol which one to answer with. The parent's command line
// usually can: `docker push atcr.io/alice.bsky.social/app:1` names
// alice.bsky.social. ParentCmdline reads it (/proc/<ppid>/cmdline on Linux,
// `ps -o args= -p <ppid>` on macOS); Identities extracts the identity of every
// `<registry>/<identity>/<repo>` reference for the registry asked about.
package parentref
