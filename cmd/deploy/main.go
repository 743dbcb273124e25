// Command atcr-deploy updates an ATCR server over SSH: it brings the
// server's systemd units to the repository's templates (write when
// different, daemon-reload, restart; a unit whose restart fails is rolled
// back) and adds the keys a newer template has to the server's config
// files, keeping every value and comment the operator wrote. --dry-run
// prints the diffs and changes nothing. See docs/deploy-tool.md.
//
//	atcr-deploy [flags] [user@]host[:port]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"atcr.io/internal/deploy"
)

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "atcr-deploy: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	home, _ := os.UserHomeDir()
	fs := flag.NewFlagSet("atcr-deploy", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: atcr-deploy [flags] [user@]host[:port]\n\nflags:\n")
		fs.PrintDefaults()
	}
	profile := fs.String("profile", deploy.ProfileCompose, "what the server runs: compose (unit atcr, /opt/atcr/.env) or native (atcr-appview and atcr-hold units, /etc/atcr/*.yaml)")
	repo := fs.String("repo", ".", "checkout of the repository whose deploy/ templates are deployed")
	dryRun := fs.Bool("dry-run", false, "print the diffs and what would be restarted; change nothing")
	var identities stringList
	fs.Var(&identities, "identity", "private key file (repeatable; default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa that exist; ssh-agent is used when SSH_AUTH_SOCK is set)")
	knownHosts := fs.String("known-hosts", filepath.Join(home, ".ssh", "known_hosts"), "known_hosts file the server's host key is checked against")
	insecure := fs.Bool("insecure-ignore-host-key", false, "accept any host key (DANGEROUS: whoever is in between gets the session)")
	sudo := fs.Bool("sudo", false, "run remote commands through sudo -n (for a non-root login)")
	root := fs.String("remote-root", "", "prefix for every path on the server (a staging tree)")
	timeout := fs.Duration("timeout", 15*time.Second, "SSH connect timeout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("give exactly one server")
	}
	user, addr := splitTarget(fs.Arg(0))
	if len(identities) == 0 {
		for _, name := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
			if p := filepath.Join(home, ".ssh", name); fileExists(p) {
				identities = append(identities, p)
			}
		}
	}
	plan, err := deploy.LoadPlan(*repo, *profile)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	remote, err := deploy.DialSSH(ctx, deploy.SSHConfig{
		Addr: addr, User: user, IdentityFiles: identities, KnownHosts: *knownHosts,
		InsecureIgnoreHostKey: *insecure, Sudo: *sudo, DialTimeout: *timeout,
	})
	if err != nil {
		return err
	}
	defer remote.Close()
	if *insecure {
		fmt.Fprintln(os.Stderr, "atcr-deploy: WARNING: the server's host key was not checked (--insecure-ignore-host-key)")
	}
	fmt.Printf("deploying the %s profile from %s to %s@%s\n", *profile, *repo, user, addr)
	if err := deploy.Deploy(ctx, remote, plan, deploy.Options{DryRun: *dryRun, Root: *root, Out: os.Stdout}); err != nil {
		return fmt.Errorf("FAILED:\n%w", err)
	}
	fmt.Println("done")
	return nil
}

// splitTarget parses [user@]host[:port]; the user defaults to root and the
// port to 22.
func splitTarget(t string) (user, addr string) {
	user = "root"
	if u, h, ok := strings.Cut(t, "@"); ok {
		user, t = u, h
	}
	if _, _, err := net.SplitHostPort(t); err != nil {
		t = net.JoinHostPort(strings.Trim(t, "[]"), "22")
	}
	return user, t
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
