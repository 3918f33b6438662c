package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rassh/rassh/verifier/tdx/tdxsim"
)

// agentExit runs rassh-agent and returns its exit code and output.
func agentExit(t *testing.T, agentBin string, args ...string) (int, string) {
	t.Helper()
	out, err := exec.Command(agentBin, args...).CombinedOutput()
	if exitErr, ok := err.(*exec.ExitError); ok {
		return exitErr.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

func TestEnrollExitCodes(t *testing.T) {
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
	run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, "hostkey"))

	config := func(url, principal string) string {
		path := filepath.Join(dir, "agent-"+principal+".json")
		writeAgentConfig(t, path, map[string]any{
			"ca":       map[string]any{"url": url, "tls_fingerprint": ca.fingerprint, "ssh_ca_keys_file": filepath.Join(dir, "ssh-ca.pub")},
			"host":     map[string]any{"keys": []string{filepath.Join(dir, "hostkey")}, "principals": []string{principal}, "join_token_file": tokenFile},
			"evidence": map[string]any{"kind": "simulated", "simulated": map[string]any{"authority_dir": simDir}},
		})
		return path
	}

	// The token allows host1 only: the CA rejects host2.
	code, out := agentExit(t, agentBin, "enroll", "--config", config(ca.url, "host2.example.com"))
	if code != exitRejected || !strings.Contains(out, "principal_not_allowed") {
		t.Errorf("principal not allowed: exit %d, expected %d:\n%s", code, exitRejected, out)
	}

	// An unreachable CA cannot decide.
	if code := ca.stopProcess(t); code != 0 {
		t.Fatalf("rassh-ca exited with %d", code)
	}
	code, out = agentExit(t, agentBin, "enroll", "--config", config(ca.url, "host1.example.com"))
	if code != exitUndecided || !strings.Contains(out, "connection refused") {
		t.Errorf("CA down: exit %d, expected %d:\n%s", code, exitUndecided, out)
	}

	code, out = agentExit(t, agentBin, "enroll", "--config", filepath.Join(dir, "missing.yaml"))
	if code != exitUsage || !strings.Contains(out, "missing.yaml") {
		t.Errorf("missing config: exit %d, expected %d:\n%s", code, exitUsage, out)
	}
	code, _ = agentExit(t, agentBin, "enroll", "--config", config(ca.url, "host1.example.com"), "extra")
	if code != exitUsage {
		t.Errorf("extra argument: exit %d, expected %d", code, exitUsage)
	}
}

func TestSimInitRefusesOverwrite(t *testing.T) {
	_, agentBin := binaries(t)
	dir := filepath.Join(t.TempDir(), "sim")
	if code, out := agentExit(t, agentBin, "sim-init", "--dir", dir); code != exitOK {
		t.Fatalf("sim-init: exit %d:\n%s", code, out)
	}
	if _, err := tdxsim.LoadAuthority(dir); err != nil {
		t.Fatalf("load the created authority: %v", err)
	}
	code, out := agentExit(t, agentBin, "sim-init", "--dir", dir)
	if code != exitUsage || !strings.Contains(out, "already exists; not overwriting") {
		t.Errorf("second sim-init: exit %d, expected %d:\n%s", code, exitUsage, out)
	}
}
