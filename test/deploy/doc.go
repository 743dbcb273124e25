// Package deploy tests the operator's deployment files as they run on a
// server: deploy/init-upcloud.sh and the helper scripts in deploy/scripts
// (shellcheck, and a run in a temporary root with recording stubs for dnf,
// systemctl, firewall-cmd, docker and git, twice), the unit
// deploy/systemd/atcr.service (systemd-analyze verify), and the deploy tool
// (cmd/deploy) against a real OpenSSH server on a loopback port with a
// recording systemctl.
//
// The tools come from `make stack-deps` (test/stack/install.sh:
// shellcheck, openssh-server); under `make test` (ATCR_REQUIRE_DEPLOY_TOOLS=1)
// a missing tool fails the tests, elsewhere it skips them.
//
//	go test ./test/deploy/
package deploy
