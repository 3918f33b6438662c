package rasshd

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// runAsNobody runs a command as uid/gid 65534 (nobody) with SSH_AUTH_SOCK set.
func runAsNobody(t *testing.T, socket string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = []string{"SSH_AUTH_SOCK=" + socket, "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestHostKeyAgentSocketModes(t *testing.T) {
	e := newHostEnv(t)
	dirInfo, err := os.Stat(filepath.Dir(e.agentSock))
	if err != nil {
		t.Fatal(err)
	}
	if got := dirInfo.Mode().Perm(); got != 0o700 {
		t.Fatalf("HostKeyAgent directory mode %o, want 700", got)
	}
	sockInfo, err := os.Stat(e.agentSock)
	if err != nil {
		t.Fatal(err)
	}
	if got := sockInfo.Mode().Perm(); got != 0o600 {
		t.Fatalf("HostKeyAgent socket mode %o, want 600", got)
	}
	raInfo, err := os.Stat(e.raSock)
	if err != nil {
		t.Fatal(err)
	}
	if got := raInfo.Mode().Perm(); got != 0o666 {
		t.Fatalf("ra-ssh socket mode %o, want 666", got)
	}
}

func TestHostKeyAgentNonRootCannotConnect(t *testing.T) {
	e := newHostEnv(t)
	out, err := runAsNobody(t, e.agentSock, sshAddPath, "-l")
	if err == nil {
		t.Fatalf("ssh-add -l as nobody succeeded:\n%s", out)
	}
	if !strings.Contains(out, "Permission denied") {
		t.Fatalf("ssh-add -l as nobody: %v\n%s\nwant a permission error", err, out)
	}
}

// With the directory and socket opened up, the peer credential check is the
// last guard: it answers every request with SSH_AGENT_FAILURE.
func TestHostKeyAgentNonRootPeerRejected(t *testing.T) {
	e := newHostEnv(t)
	os.Chmod(filepath.Dir(e.agentSock), 0o755)
	os.Chmod(e.agentSock, 0o666)

	out, err := runAsNobody(t, e.agentSock, sshAddPath, "-l")
	if err == nil {
		t.Fatalf("ssh-add -l as nobody succeeded:\n%s", out)
	}
	if !strings.Contains(out, "agent refused operation") {
		t.Fatalf("ssh-add -l as nobody: %v\n%s\nwant the agent's refusal", err, out)
	}
	pubCopy := filepath.Join(e.dir, "readable.pub")
	os.WriteFile(pubCopy, ssh.MarshalAuthorizedKey(e.keys.PublicKeys()[0]), 0o644)
	out, err = runAsNobody(t, e.agentSock, "/usr/bin/ssh-keygen", "-Y", "sign", "-n", "file", "-f", pubCopy, "-")
	if err == nil {
		t.Fatalf("ssh-keygen -Y sign as nobody succeeded:\n%s", out)
	}
	// ssh-keygen first lists the agent's keys; the refused listing leaves it
	// without the key.
	if !strings.Contains(out, "No private key found for public key") {
		t.Fatalf("ssh-keygen -Y sign as nobody: %v\n%s\nwant no key from the agent", err, out)
	}
}

func TestHostKeyAgentListsIdentities(t *testing.T) {
	e := newHostEnv(t, "ecdsa", "rsa")
	cmd := exec.Command(sshAddPath, "-L")
	cmd.Env = []string{"SSH_AUTH_SOCK=" + e.agentSock}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-add -L: %v\n%s", err, out)
	}
	var want bytes.Buffer
	for _, k := range e.keys.PublicKeys() {
		want.WriteString(strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) + " rassh host key\n")
	}
	if string(out) != want.String() {
		t.Fatalf("ssh-add -L:\n%s\nwant:\n%s", out, want.String())
	}
}

// ssh-keygen -Y sign asks the agent to sign an SSHSIG blob, which is neither
// an exchange hash nor a hostkeys-prove request.
func TestHostKeyAgentRefusesArbitraryData(t *testing.T) {
	e := newHostEnv(t)
	msg := filepath.Join(e.dir, "message")
	os.WriteFile(msg, []byte("pay mallory"), 0o644)
	cmd := exec.Command("/usr/bin/ssh-keygen", "-Y", "sign", "-n", "file", "-f", filepath.Join(e.dir, "ssh_host_ed25519_key.pub"), msg)
	cmd.Env = []string{"SSH_AUTH_SOCK=" + e.agentSock}
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("ssh-keygen -Y sign through the HostKeyAgent succeeded:\n%s", out)
	}
	if _, statErr := os.Stat(msg + ".sig"); statErr == nil {
		t.Fatal("a signature file was written")
	}
	if !strings.Contains(string(out), "agent refused operation") {
		t.Fatalf("ssh-keygen output %q, want the agent's refusal", out)
	}
}

// The real ssh client with UpdateHostKeys asks sshd to prove the host keys
// it does not know yet; sshd signs hostkeys-prove requests through the agent.
func TestHostKeyAgentHostkeysProve(t *testing.T) {
	e := newHostEnv(t, "ecdsa")
	knownHosts := filepath.Join(e.dir, "known_hosts")
	ed := e.keys.PublicKeys()[0]
	host, port, _ := strings.Cut(e.addr, ":")
	line := "[" + host + "]:" + port + " " + string(ssh.MarshalAuthorizedKey(ed))
	os.WriteFile(knownHosts, []byte(line), 0o600)

	cmd := exec.Command(sshPath, "-F", "/dev/null", "-p", port, "-i", filepath.Join(e.dir, "id_ed25519"),
		"-o", "UserKnownHostsFile="+knownHosts, "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=yes", "-o", "UpdateHostKeys=yes", "-o", "BatchMode=yes",
		"-o", "IdentitiesOnly=yes", "-l", "root", host, "true")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ssh: %v\n%s", err, out)
	}

	// ssh updates known_hosts after the proof; give it the file.
	ecdsaKey := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(e.keys.PublicKeys()[1])))
	deadline := time.Now().Add(5 * time.Second)
	for {
		data, _ := os.ReadFile(knownHosts)
		if strings.Contains(string(data), ecdsaKey) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("known_hosts lacks the proven ECDSA key:\n%s\nssh output:\n%s\nsshd log:\n%s", data, out, e.sshdLog.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(e.agentLog.String(), "hostkeys-prove signed") {
		t.Fatalf("the agent did not sign a hostkeys-prove request:\n%s", e.agentLog.String())
	}
}

// Without its HostKeyAgent, sshd cannot sign the exchange hash, so no client
// completes a key exchange; the supervision units must keep the agent up.
func TestSSHDFailsWhenAgentStops(t *testing.T) {
	e := newHostEnv(t)
	if client, _, err := e.tryDial("root", 0); err != nil {
		t.Fatalf("dial with agent up: %v", err)
	} else {
		client.Close()
	}

	e.hkaListen.Close()
	client, _, err := e.tryDial("root", 0)
	if err == nil {
		client.Close()
		t.Fatal("key exchange succeeded with the HostKeyAgent stopped")
	}
	if !strings.Contains(err.Error(), "ssh: handshake failed") {
		t.Fatalf("dial with agent down: %v, want a handshake failure", err)
	}
	if !strings.Contains(e.sshdLog.String(), "agent") {
		t.Fatalf("sshd log does not mention the agent:\n%s", e.sshdLog.String())
	}

	// A restarted agent with the same keys serves sshd again.
	e.startAgent(t)
	client, _, err = e.tryDial("root", 0)
	if err != nil {
		t.Fatalf("dial after agent restart: %v", err)
	}
	client.Close()
}
