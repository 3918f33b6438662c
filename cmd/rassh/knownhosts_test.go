package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rassh/rassh/client/sshdtest"
)

// sshThroughRassh runs the real ssh with rassh as its only source of host
// keys and returns ssh's error, its output and the arguments ssh passed to
// the KnownHostsCommand, one call per line.
func sshThroughRassh(t *testing.T, f *fixture) (string, []string, error) {
	t.Helper()
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	wrapper := filepath.Join(dir, "known-hosts-command")
	script := fmt.Sprintf("#!/bin/sh\necho \"$@\" >> %s\nexec %s known-hosts-command -F %s \"$@\"\n", calls, rasshBinary, f.config)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	config := strings.Join([]string{
		"Host attested",
		"  HostName " + f.host.Name,
		"  Port " + f.host.Port(),
		"  User root",
		"  IdentityFile " + f.host.ClientKeyFile,
		"  IdentitiesOnly yes",
		"  BatchMode yes",
		"  UserKnownHostsFile /dev/null",
		"  GlobalKnownHostsFile /dev/null",
		"  KnownHostsCommand " + wrapper + " -l %r %H %t %K",
		"  StrictHostKeyChecking yes",
		"  UpdateHostKeys no",
	}, "\n") + "\n"
	sshConfig := filepath.Join(dir, "ssh_config")
	if err := os.WriteFile(sshConfig, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ssh", "-F", sshConfig, "attested", "echo", "stock ssh ok")
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK=")
	out, err := cmd.CombinedOutput()
	data, _ := os.ReadFile(calls)
	return string(out), strings.Split(strings.TrimSpace(string(data)), "\n"), err
}

func TestKnownHostsCommandStockSSH(t *testing.T) {
	f := newFixture(t, sshdtest.Options{RequireRASSH: true}, nil)
	out, calls, err := sshThroughRassh(t, f)
	if err != nil || !strings.Contains(out, "stock ssh ok") {
		t.Fatalf("ssh: %v\n%s\ncalls: %q", err, out, calls)
	}
	// ssh 9.2 calls the command twice: before the key exchange with "NONE"
	// to order its host key algorithms, then with the certificate the server
	// presented. rassh lists the certificate's plain key, and ssh, finding no
	// @cert-authority line, accepts the certificate as that plain key.
	name := fmt.Sprintf("[%s]:%s", f.host.Name, f.host.Port())
	want := []string{"-l root " + f.host.Name + " NONE NONE", "-l root " + name + " ssh-ed25519-cert-v01@openssh.com "}
	if len(calls) != 2 || calls[0] != want[0] || !strings.HasPrefix(calls[1], want[1]) {
		t.Errorf("KnownHostsCommand calls by %s: %q, expected %q", sshVersion(t), calls, want)
	}
}

func TestKnownHostsCommandStaleRefused(t *testing.T) {
	stale := sshdtest.NewIssuer(t)
	stale.IssuedAt = func() time.Time { return time.Now().Add(-30 * time.Minute) }
	f := newFixture(t, sshdtest.Options{Attester: stale}, nil)
	f.issuer = stale
	f.writeIssuer(t)
	out, _, err := sshThroughRassh(t, f)
	if err == nil || !strings.Contains(out, "KnownHostsCommand failed") || !strings.Contains(out, "attestation token too old") {
		t.Errorf("ssh error %v, output:\n%s\nexpected a failed KnownHostsCommand and a stale token", err, out)
	}
}

func TestKnownHostsCommandOtherKey(t *testing.T) {
	f := newFixture(t, sshdtest.Options{}, nil)
	other := sshdtest.NewCA(t).PublicKey()
	code, stdout, stderr := run(t, "known-hosts-command", "-F", f.config, "-l", "root",
		fmt.Sprintf("[%s]:%s", f.host.Name, f.host.Port()), other.Type(), b64(other.Marshal()))
	if code != exitFailure || stdout != "" || !strings.Contains(stderr, "but the attested connection saw") {
		t.Errorf("exit %d stdout %q stderr %q, expected 255, no line and a key mismatch", code, stdout, stderr)
	}
}

func sshVersion(t *testing.T) string {
	out, _ := exec.Command("ssh", "-V").CombinedOutput()
	return strings.TrimSpace(string(out))
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
