// Package deploy updates an ATCR server over SSH: it brings the server's
// systemd units to the repository's templates (syncServiceUnit: write when
// different, daemon-reload, restart, roll back a unit whose restart fails)
// and adds to the server's config files the keys a newer template has
// (keysync), never changing a value the operator set. A dry run prints the
// unified diff of every change and touches nothing.
//
// What it manages comes from a Plan: ProfileCompose (the Docker Compose
// deployment of deploy/init-upcloud.sh: the unit atcr and /opt/atcr/.env)
// or ProfileNative (the binaries' own units and YAML configs). The server
// is reached through Remote; SSH implements it with
// golang.org/x/crypto/ssh, the host key checked against known_hosts.
// cmd/deploy is the command line.
package deploy
