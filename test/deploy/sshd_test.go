package deploy

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// sshServer is a real OpenSSH server on a loopback port, started by the
// test with its own host key, authorized key and config in a temporary
// directory. Its sessions get PATH with the recording systemctl first,
// HOME in the temporary directory (no login files of the machine run) and
// STUB_STATE / STUB_ROOT for the stub.
type sshServer struct {
	addr       string
	knownHosts string // a known_hosts file with the server's key
	identity   string // the client's private key
	state      string // the stub's state: calls
	root       string // the remote root the tool writes under
	hostKey    ssh.PublicKey
}

// The server side's systemctl: it records its arguments, and `restart U`
// fails when the installed unit file carries the line "# test: restart
// fails" (so a rolled-back unit restarts fine).
const remoteSystemctl = `#!/bin/sh
printf 'systemctl %s\n' "$*" >>"$STUB_STATE/calls"
if [ "$1" = restart ] && grep -q '^# test: restart fails$' "$STUB_ROOT/etc/systemd/system/$2" 2>/dev/null; then
	echo "Job for $2 failed because the control process exited with error code." >&2
	exit 1
fi
exit 0
`

func startSSHD(t *testing.T) *sshServer {
	t.Helper()
	sshd := requireTool(t, "/usr/sbin/sshd", "openssh-server")
	unshare := requireTool(t, "unshare", "util-linux")
	if os.Geteuid() != 0 {
		// sshd needs its privilege separation directory, which the test
		// mounts in a private mount namespace: that takes root.
		if os.Getenv("ATCR_REQUIRE_DEPLOY_TOOLS") != "" {
			t.Fatal("the sshd test runs as root")
		}
		t.Skip("the sshd test runs as root")
	}
	dir := t.TempDir()
	s := &sshServer{state: t.TempDir(), root: t.TempDir()}
	hostPub := newKey(t, filepath.Join(dir, "host_key"))
	s.identity = filepath.Join(dir, "client_key")
	clientPub := newKey(t, s.identity)
	writeFile(t, filepath.Join(dir, "authorized_keys"), string(ssh.MarshalAuthorizedKey(clientPub)), 0o600)
	writeFile(t, filepath.Join(dir, "bin", "systemctl"), remoteSystemctl, 0o755)
	if err := os.MkdirAll(filepath.Join(dir, "home"), 0o700); err != nil {
		t.Fatal(err)
	}
	s.hostKey = hostPub

	// A free loopback port: taken by the kernel, released for sshd.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s.addr = fmt.Sprintf("127.0.0.1:%d", port)
	writeFile(t, filepath.Join(dir, "sshd_config"), fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
AuthorizedKeysFile %s
PidFile none
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
SetEnv PATH=%s:/usr/sbin:/usr/bin:/sbin:/bin HOME=%s STUB_STATE=%s STUB_ROOT=%s
`, port, filepath.Join(dir, "host_key"), filepath.Join(dir, "authorized_keys"), filepath.Join(dir, "bin"),
		filepath.Join(dir, "home"), s.state, s.root), 0o600)
	s.knownHosts = filepath.Join(dir, "known_hosts")
	writeFile(t, s.knownHosts, knownhosts.Line([]string{knownhosts.Normalize(s.addr)}, hostPub)+"\n", 0o600)

	// sshd insists on /run/sshd; a tmpfs on /run in a private mount
	// namespace gives it one without touching the machine's /run.
	cmd := exec.Command(unshare, "--mount", "--propagation", "private", "sh", "-c",
		`mount -t tmpfs atcr-test-run /run && mkdir -m 755 /run/sshd && exec "$0" -D -e -f "$1"`,
		sshd, filepath.Join(dir, "sshd_config"))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// Ready when it says it listens; anything else it said is the reason it did not.
	sc := bufio.NewScanner(stderr)
	var said []string
	for sc.Scan() {
		said = append(said, sc.Text())
		if strings.HasPrefix(sc.Text(), "Server listening on 127.0.0.1 port") {
			go func() { _, _ = io.Copy(io.Discard, stderr) }()
			return s
		}
	}
	t.Fatalf("sshd did not start:\n%s", strings.Join(said, "\n"))
	return nil
}

// newKey writes a new ed25519 private key in OpenSSH format to path.
func newKey(t *testing.T, path string) ssh.PublicKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, string(pem.EncodeToMemory(block)), 0o600)
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return sshPub
}

func sshAuthorized(k ssh.PublicKey) []byte { return ssh.MarshalAuthorizedKey(k) }
