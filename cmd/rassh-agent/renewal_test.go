package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/enroll"
)

const sshdPath = "/usr/sbin/sshd"

// host is a real sshd whose host certificate the agent maintains.
type host struct {
	dir, keyPath, certPath, clientKey string
	port                              int
	sshd                              *process
}

func newHost(t *testing.T, dir string) *host {
	t.Helper()
	h := &host{dir: dir, keyPath: filepath.Join(dir, "ssh_host_ed25519_key"), clientKey: filepath.Join(dir, "client_key")}
	h.certPath = enroll.CertPath(h.keyPath)
	run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", h.keyPath)
	run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", h.clientKey)
	pub, err := os.ReadFile(h.clientKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o644)
	return h
}

// startSSHD starts sshd on a free loopback port with the host key and its
// certificate.
func (h *host) startSSHD(t *testing.T) {
	t.Helper()
	h.startSSHDWith(t, []string{"HostKey " + h.keyPath, "HostCertificate " + h.certPath})
}

// startSSHDWith starts sshd on a free loopback port with the given host key
// lines. A port taken between the probe and sshd's bind is retried.
func (h *host) startSSHDWith(t *testing.T, hostKeyLines []string) {
	t.Helper()
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	for attempt := 0; attempt < 5; attempt++ {
		h.port = freePort(t)
		config := strings.Join(append(hostKeyLines,
			fmt.Sprintf("ListenAddress 127.0.0.1:%d", h.port),
			"PidFile none",
			"AuthorizedKeysFile "+filepath.Join(h.dir, "authorized_keys"),
			"StrictModes no",
			"UsePAM no",
			"PasswordAuthentication no",
			"KbdInteractiveAuthentication no",
			"PermitRootLogin prohibit-password",
		), "\n") + "\n"
		configPath := filepath.Join(h.dir, "sshd_config")
		if err := os.WriteFile(configPath, []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
		h.sshd = start(t, sshdPath, "-D", "-e", "-f", configPath)
		listening := func() bool {
			return strings.Contains(h.sshd.out.String(), "Server listening on") || h.sshd.exited() ||
				strings.Contains(h.sshd.out.String(), "Cannot bind")
		}
		waitFor(t, "sshd to listen", 10*time.Second, listening)
		if strings.Contains(h.sshd.out.String(), "Server listening on") {
			return
		}
		h.sshd.cmd.Process.Kill()
		<-h.sshd.done
		if !strings.Contains(h.sshd.out.String(), "Address already in use") {
			t.Fatalf("sshd did not start:\n%s", h.sshd.out.String())
		}
	}
	t.Fatal("sshd: no free port after 5 attempts")
}

// servedSerial returns the serial of the certificate sshd presents, read
// with ssh-keyscan -c, or 0 while sshd is unreachable (during a reload).
func (h *host) servedSerial(t *testing.T) uint64 {
	t.Helper()
	out, err := exec.Command("ssh-keyscan", "-c", "-T", "2", "-p", strconv.Itoa(h.port), "127.0.0.1").Output()
	if err != nil {
		return 0
	}
	// With -c, ssh-keyscan prints bare certificate lines, without a host.
	for _, line := range strings.Split(string(out), "\n") {
		if cert, err := enroll.ParseCertificate([]byte(line)); err == nil {
			return cert.Serial
		}
	}
	return 0
}

func installedCert(t *testing.T, path string) *ssh.Certificate {
	t.Helper()
	certs, err := enroll.ReadCertificates([]string{path})
	if err != nil {
		return nil
	}
	return certs[0]
}

// sshRun connects with the system ssh, trusting only the CA through an
// @cert-authority line, and returns ssh's output with the host
// certificate it logged.
func (h *host) sshRun(t *testing.T, knownHosts string) string {
	t.Helper()
	out, err := exec.Command("ssh", "-v", "-F", "none",
		"-i", h.clientKey, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
		"-o", "UserKnownHostsFile="+knownHosts, "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=yes", "-o", "HostKeyAlias=host1.example.com",
		"-p", strconv.Itoa(h.port), "root@127.0.0.1", "echo renewed-host-ok").CombinedOutput()
	if err != nil {
		t.Fatalf("ssh: %v\n%s", err, out)
	}
	return string(out)
}

var sshCertSerial = regexp.MustCompile(`Server host certificate: ssh-ed25519-cert-v01@openssh.com SHA256:\S+, serial (\d+)`)

func writeAgentConfig(t *testing.T, path string, cfg map[string]any) {
	t.Helper()
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestAgentRenewalWithRealSSHD(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test runs sshd and must run as root")
	}
	caBin, agentBin := binaries(t)
	dir := worldTempDir(t)

	// A simulated TD with its own identity, and a CA that trusts its root.
	simDir := filepath.Join(dir, "tdxsim")
	run(t, agentBin, "sim-init", "--dir", simDir)
	const lifetime = 15 * time.Second
	ca := startCA(t, caBin, dir, filepath.Join(simDir, "root.pem"), lifetime)
	tokenFile := filepath.Join(dir, "join-token")
	os.WriteFile(tokenFile, []byte(ca.joinToken(t, "host1.example.com")+"\n"), 0o600)

	// First enrollment with the join token, then sshd with the certificate.
	h := newHost(t, dir)
	configPath := filepath.Join(dir, "agent.json")
	agentConfig := map[string]any{
		"ca": map[string]any{
			"url":              ca.url,
			"tls_fingerprint":  ca.fingerprint,
			"ssh_ca_keys_file": filepath.Join(dir, "ssh-ca.pub"),
		},
		"host": map[string]any{
			"keys":            []string{h.keyPath},
			"principals":      []string{"host1.example.com"},
			"join_token_file": tokenFile,
		},
		"evidence": map[string]any{
			"kind":      "simulated",
			"simulated": map[string]any{"authority_dir": simDir, "mrconfigid": strings.Repeat("5a", 48)},
		},
		"renewal": map[string]any{"min_backoff": "300ms", "max_backoff": "1s"},
	}
	writeAgentConfig(t, configPath, agentConfig)
	run(t, agentBin, "enroll", "--config", configPath)
	first := installedCert(t, h.certPath)
	if first == nil {
		t.Fatal("enroll installed no certificate")
	}
	h.startSSHD(t)
	knownHosts := filepath.Join(dir, "known_hosts")
	caKey, err := os.ReadFile(filepath.Join(dir, "ssh-ca.pub"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(knownHosts, []byte("@cert-authority *.example.com "+string(caKey)), 0o644)
	if got := h.servedSerial(t); got != first.Serial {
		t.Fatalf("sshd serves serial %d, expected %d", got, first.Serial)
	}

	// run re-enrolls at start (the spent join token is dropped) and
	// reloads sshd with SIGHUP.
	agentConfig["reload"] = map[string]any{"command": []string{"kill", "-HUP", strconv.Itoa(h.sshd.cmd.Process.Pid)}}
	writeAgentConfig(t, configPath, agentConfig)
	agent := start(t, agentBin, "run", "--config", configPath)
	waitFor(t, "the start enrollment", 20*time.Second, func() bool {
		c := installedCert(t, h.certPath)
		return c != nil && c.Serial != first.Serial
	})
	second := installedCert(t, h.certPath)
	waitFor(t, "sshd to serve the second certificate", 10*time.Second, func() bool { return h.servedSerial(t) == second.Serial })

	// The CA stops. Renewal fails, is retried, and sshd keeps serving.
	if code := ca.stopProcess(t); code != 0 {
		t.Fatalf("rassh-ca exited with %d on SIGTERM", code)
	}
	waitFor(t, "a failed renewal", lifetime, func() bool {
		return strings.Contains(agent.out.String(), "renewal failed; the installed certificate is still valid")
	})
	if got := h.servedSerial(t); got != second.Serial {
		t.Fatalf("during the CA outage sshd serves serial %d, expected %d", got, second.Serial)
	}

	// The CA comes back on the same store and address; renewal succeeds
	// before the second certificate expires.
	if !ca.serve(t) {
		t.Fatal("rassh-ca could not bind its address again")
	}
	waitFor(t, "a renewed certificate", lifetime, func() bool {
		c := installedCert(t, h.certPath)
		return c != nil && c.Serial != second.Serial
	})
	renewedAt := time.Now()
	third := installedCert(t, h.certPath)
	if expiry := time.Unix(int64(second.ValidBefore), 0); !renewedAt.Before(expiry) {
		t.Errorf("renewed at %v, after the previous certificate expired at %v", renewedAt, expiry)
	}
	waitFor(t, "sshd to serve the renewed certificate", 10*time.Second, func() bool { return h.servedSerial(t) == third.Serial })

	// A stock ssh that trusts only the CA accepts the renewed certificate.
	out := h.sshRun(t, knownHosts)
	m := sshCertSerial.FindStringSubmatch(out)
	if m == nil || m[1] != strconv.FormatUint(third.Serial, 10) {
		t.Errorf("ssh saw host certificate %v, expected serial %d:\n%s", m, third.Serial, out)
	}
	if !strings.Contains(out, "renewed-host-ok") {
		t.Errorf("command output missing:\n%s", out)
	}

	if code := agent.stop(t); code != exitOK {
		t.Errorf("agent exited with %d on SIGTERM, expected %d", code, exitOK)
	}
	logs := agent.out.String()
	for _, want := range []string{"join token already used; enrolling without it", "attempt=1", "retry_in=", "agent stopped"} {
		if !strings.Contains(logs, want) {
			t.Errorf("agent log lacks %q:\n%s", want, logs)
		}
	}
}
