package deploy

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"strconv"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHConfig says how to reach and trust a server.
type SSHConfig struct {
	Addr string // host:port
	User string
	// IdentityFiles are unencrypted private keys; with SSH_AUTH_SOCK set the
	// agent's keys are offered too.
	IdentityFiles []string
	KnownHosts    string
	// InsecureIgnoreHostKey accepts any host key. Only for a server whose
	// key cannot be known yet; a man in the middle gets the session.
	InsecureIgnoreHostKey bool
	// Sudo runs every remote command through `sudo -n` (a non-root login).
	Sudo        bool
	DialTimeout time.Duration
}

// SSH is a Remote over one SSH connection.
type SSH struct {
	client *ssh.Client
	sudo   bool
}

// exitMissing is the status ReadFile's command exits with for a missing file.
const exitMissing = 44

// DialSSH connects and authenticates.
func DialSSH(ctx context.Context, c SSHConfig) (*SSH, error) {
	cfg := &ssh.ClientConfig{User: c.User, Timeout: c.DialTimeout}
	if c.InsecureIgnoreHostKey {
		cfg.HostKeyCallback = ssh.InsecureIgnoreHostKey() // #nosec G106 -- only behind --insecure-ignore-host-key
	} else {
		cb, err := knownhosts.New(c.KnownHosts)
		if err != nil {
			return nil, fmt.Errorf("known hosts %s: %w (give --known-hosts, or add the server's key with ssh-keyscan after checking its fingerprint)", c.KnownHosts, err)
		}
		cfg.HostKeyCallback = explainHostKey(cb, c.KnownHosts)
		cfg.HostKeyAlgorithms = knownAlgorithms(cb, c.Addr)
	}
	auth, err := authMethods(c.IdentityFiles)
	if err != nil {
		return nil, err
	}
	cfg.Auth = auth
	d := net.Dialer{Timeout: c.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", c.Addr)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", c.Addr, err)
	}
	sc, chans, reqs, err := ssh.NewClientConn(conn, c.Addr, cfg)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("ssh %s@%s: %w", c.User, c.Addr, err)
	}
	return &SSH{client: ssh.NewClient(sc, chans, reqs), sudo: c.Sudo}, nil
}

// Close ends the connection.
func (s *SSH) Close() error { return s.client.Close() }

// explainHostKey turns knownhosts' errors into what to do about them.
func explainHostKey(cb ssh.HostKeyCallback, file string) ssh.HostKeyCallback {
	return func(host string, remote net.Addr, key ssh.PublicKey) error {
		err := cb(host, remote, key)
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) {
			fp := ssh.FingerprintSHA256(key)
			if len(ke.Want) == 0 {
				return fmt.Errorf("host key %s of %s is not in %s: check the fingerprint on the server (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) and add it (ssh-keyscan)", fp, host, file)
			}
			return fmt.Errorf("HOST KEY MISMATCH for %s: the server offers %s, %s:%d has another key; refusing to connect (a reinstalled server, or someone in between)", host, fp, ke.Want[0].Filename, ke.Want[0].Line)
		}
		return err
	}
}

// knownAlgorithms lists the host key algorithms known_hosts has for addr,
// so the server is asked for a key we can check (nil: the default list).
func knownAlgorithms(cb ssh.HostKeyCallback, addr string) []string {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil
	}
	probe, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil
	}
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	var ke *knownhosts.KeyError
	if !errors.As(cb(addr, &net.TCPAddr{IP: net.ParseIP(host), Port: p}, probe), &ke) {
		return nil
	}
	var algos []string
	for _, k := range ke.Want {
		switch t := k.Key.Type(); t {
		case ssh.KeyAlgoRSA:
			algos = append(algos, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		default:
			algos = append(algos, t)
		}
	}
	return algos
}

func authMethods(identities []string) ([]ssh.AuthMethod, error) {
	var signers []ssh.Signer
	for _, f := range identities {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("identity: %w", err)
		}
		s, err := ssh.ParsePrivateKey(b)
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, fmt.Errorf("identity %s has a passphrase: load it into ssh-agent (SSH_AUTH_SOCK) instead", f)
		}
		if err != nil {
			return nil, fmt.Errorf("identity %s: %w", f, err)
		}
		signers = append(signers, s)
	}
	methods := []ssh.AuthMethod{}
	if len(signers) > 0 {
		methods = append(methods, ssh.PublicKeys(signers...))
	}
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" {
		if conn, err := net.Dial("unix", sock); err == nil {
			methods = append(methods, ssh.PublicKeysCallback(agent.NewClient(conn).Signers))
		}
	}
	if len(methods) == 0 {
		return nil, errors.New("no SSH key: give --identity or run ssh-agent")
	}
	return methods, nil
}

// run runs a shell script on the server with stdin and returns its
// output, its error output and exit status (-1 when it did not exit
// normally).
func (s *SSH) run(ctx context.Context, script string, stdin []byte) ([]byte, []byte, int, error) {
	sess, err := s.client.NewSession()
	if err != nil {
		return nil, nil, -1, fmt.Errorf("ssh session: %w", err)
	}
	defer sess.Close()
	// Two buffers: the session copies stdout and stderr concurrently.
	var out, errOut bytes.Buffer
	sess.Stdout, sess.Stderr = &out, &errOut
	if stdin != nil {
		sess.Stdin = bytes.NewReader(stdin)
	}
	cmd := "sh -c " + shellQuote(script)
	if s.sudo {
		cmd = "sudo -n " + cmd
	}
	done := make(chan error, 1)
	go func() { done <- sess.Run(cmd) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = sess.Signal(ssh.SIGTERM)
		_ = sess.Close()
		<-done
		return out.Bytes(), errOut.Bytes(), -1, ctx.Err()
	}
	var exit *ssh.ExitError
	switch {
	case err == nil:
		return out.Bytes(), errOut.Bytes(), 0, nil
	case errors.As(err, &exit):
		return out.Bytes(), errOut.Bytes(), exit.ExitStatus(), nil
	default:
		return out.Bytes(), errOut.Bytes(), -1, fmt.Errorf("ssh: %w", err)
	}
}

// ReadFile implements Remote.
func (s *SSH) ReadFile(ctx context.Context, p string) ([]byte, bool, error) {
	q := shellQuote(p)
	out, errOut, code, err := s.run(ctx, fmt.Sprintf("if [ -e %s ]; then exec cat -- %s; else exit %d; fi", q, q, exitMissing), nil)
	switch {
	case err != nil:
		return nil, false, fmt.Errorf("read %s: %w", p, err)
	case code == exitMissing:
		return nil, false, nil
	case code != 0:
		return nil, false, fmt.Errorf("read %s: exit status %d: %s", p, code, bytes.TrimSpace(errOut))
	}
	return out, true, nil
}

// WriteFile implements Remote.
func (s *SSH) WriteFile(ctx context.Context, p string, content []byte, mode os.FileMode, group string) error {
	q, tmp := shellQuote(p), shellQuote(p+".atcr-deploy.tmp")
	script := fmt.Sprintf(`set -e
umask 077
mkdir -p %s
cat > %s
if [ -e %s ]; then chmod --reference=%s %s; chown --reference=%s %s
else chmod %o %s`, shellQuote(path.Dir(p)), tmp, q, q, tmp, q, tmp, mode.Perm(), tmp)
	if group != "" {
		script += fmt.Sprintf("; chgrp %s %s || { rm -f %s; echo 'no group %s: create the service user first (see the unit file)' >&2; exit 1; }", shellQuote(group), tmp, tmp, group)
	}
	script += fmt.Sprintf("\nfi\nmv -f %s %s\n", tmp, q)
	_, errOut, code, err := s.run(ctx, script, content)
	if err == nil && code != 0 {
		err = fmt.Errorf("exit status %d: %s", code, bytes.TrimSpace(errOut))
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

// Remove implements Remote.
func (s *SSH) Remove(ctx context.Context, p string) error {
	_, err := s.Run(ctx, "rm", "-f", "--", p)
	return err
}

// Run implements Remote.
func (s *SSH) Run(ctx context.Context, argv ...string) (string, error) {
	out, errOut, code, err := s.run(ctx, shellJoin(argv), nil)
	if err == nil && code != 0 {
		err = fmt.Errorf("%s: exit status %d", shellJoin(argv), code)
	}
	return string(bytes.TrimSpace(append(out, errOut...))), err
}
