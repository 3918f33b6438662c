package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/verifier/tdx/tdxsim"
)

// The agent's HostKeyAgent holds generated host keys in memory; run enrolls
// them and writes only public keys and certificates, which sshd serves.
func TestRunEnrollsInMemoryKeys(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test runs sshd and must run as root")
	}
	caBin, agentBin := binaries(t)
	dir := worldTempDir(t)
	sim, err := tdxsim.NewAuthority(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	simDir := filepath.Join(dir, "tdxsim")
	if err := sim.Save(simDir); err != nil {
		t.Fatal(err)
	}
	ca := startCA(t, caBin, dir, filepath.Join(simDir, "root.pem"), time.Hour)
	tokenFile := filepath.Join(dir, "join-token")
	os.WriteFile(tokenFile, []byte(ca.joinToken(t, "host1.example.com")), 0o600)

	keyDir := filepath.Join(dir, "keys")
	os.Mkdir(keyDir, 0o755)
	hostKeyAgent := filepath.Join(dir, "private", "hostkey.sock")
	configPath := filepath.Join(dir, "agent.json")
	writeAgentConfig(t, configPath, map[string]any{
		"ca":       map[string]any{"url": ca.url, "tls_fingerprint": ca.fingerprint, "ssh_ca_keys_file": filepath.Join(dir, "ssh-ca.pub")},
		"host":     map[string]any{"join_token_file": tokenFile},
		"evidence": map[string]any{"kind": "simulated", "simulated": map[string]any{"authority_dir": simDir, "mrconfigid": strings.Repeat("6b", 48)}},
		"renewal":  map[string]any{"min_backoff": "200ms", "max_backoff": "500ms"},
		"ra_ssh": map[string]any{
			"hostkey_agent_socket": hostKeyAgent,
			"socket":               filepath.Join(dir, "public", "ra-ssh.sock"),
			"generate_host_keys":   []string{"ed25519"},
			"public_key_dir":       keyDir,
			"modes":                []string{"fresh"},
		},
	})
	// The CA is down when the agent starts: the HostKeyAgent comes up and
	// the agent waits for the CA's keys.
	if code := ca.stopProcess(t); code != 0 {
		t.Fatalf("rassh-ca exited with %d on SIGTERM", code)
	}
	agent := start(t, agentBin, "run", "--config", configPath)
	waitFor(t, "a retried CA key fetch", 20*time.Second, func() bool {
		return strings.Contains(agent.out.String(), "fetching the SSH CA keys failed; retrying")
	})
	if _, err := os.Stat(hostKeyAgent); err != nil {
		t.Fatalf("HostKeyAgent socket missing while the CA is down: %v", err)
	}
	if !ca.serve(t) {
		t.Fatal("rassh-ca could not bind its address again")
	}
	pubPath := filepath.Join(keyDir, "ssh_host_ed25519_key.pub")
	certPath := filepath.Join(keyDir, "ssh_host_ed25519_key-cert.pub")
	waitFor(t, "the certificate of the in-memory key", 20*time.Second, func() bool { return installedCert(t, certPath) != nil })

	// The certificate certifies the generated key, whose private half is
	// nowhere in the key directory.
	pubLine, err := os.ReadFile(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(pubLine)
	if err != nil {
		t.Fatal(err)
	}
	cert := installedCert(t, certPath)
	if !bytes.Equal(cert.Key.Marshal(), pub.Marshal()) {
		t.Errorf("certificate certifies %s, expected the generated key %s", ssh.FingerprintSHA256(cert.Key), ssh.FingerprintSHA256(pub))
	}
	entries, _ := os.ReadDir(keyDir)
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(keyDir, e.Name()))
		if bytes.Contains(data, []byte("PRIVATE KEY")) {
			t.Errorf("%s holds a private key", e.Name())
		}
	}

	// sshd signs through the agent and serves the certificate.
	h := &host{dir: dir}
	h.startSSHDWith(t, []string{
		"HostKey " + pubPath,
		"HostKeyAgent " + hostKeyAgent,
		"HostCertificate " + certPath,
	})
	if got := h.servedSerial(t); got != cert.Serial {
		t.Errorf("sshd serves serial %d, expected %d", got, cert.Serial)
	}

	if code := agent.stop(t); code != exitOK {
		t.Errorf("agent exited with %d on SIGTERM", code)
	}
	if !strings.Contains(agent.out.String(), "ra-ssh: HostKeyAgent listening") {
		t.Errorf("HostKeyAgent not started:\n%s", agent.out.String())
	}
}
