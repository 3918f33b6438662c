package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// hostName is the host's name in its certificate and the name both clients
// check it under (rassh's host_key_alias, ssh's HostKeyAlias); they dial
// 127.0.0.1.
const hostName = "bench.rassh.test"

// tools are the binaries the harness drives.
type tools struct {
	Rassh, Agent, CA, SSH, SSHD, Keygen string
}

// testbed is one CA, one host (agent and sshd) and the client files that
// trust them, all inside Dir.
type testbed struct {
	Dir        string
	Port       string // sshd's port
	SimDir     string
	CAURL      string
	TLSPin     string // SHA-256 of the CA's TLS certificate, hex
	AdminToken string
	UserKey    string
	KnownHosts string
	RasshConf  string
	CALog      string
	AgentLog   string
	SSHDLog    string
}

// setUp starts the CA, enrolls the agent with a join token, starts sshd and
// writes the client files. procs receives the children.
func setUp(ctx context.Context, dir string, bin tools, procs *processes) (*testbed, error) {
	tb := &testbed{Dir: dir, SimDir: filepath.Join(dir, "sim"), CALog: filepath.Join(dir, "ca.log"),
		AgentLog: filepath.Join(dir, "agent.log"), SSHDLog: filepath.Join(dir, "sshd.log")}

	// The simulated TD's PCK chain, as a developer creates it.
	if err := runTool(bin.Agent, "sim-init", "--dir", tb.SimDir); err != nil {
		return nil, err
	}
	if err := tb.startCA(ctx, bin, procs); err != nil {
		return nil, err
	}
	if err := tb.startAgent(bin, procs); err != nil {
		return nil, err
	}
	if err := tb.writeUserKey(bin); err != nil {
		return nil, err
	}
	if err := tb.startSSHD(ctx, bin, procs); err != nil {
		return nil, err
	}
	if err := tb.writeClientFiles(bin); err != nil {
		return nil, err
	}
	return tb, nil
}

// startAgent runs "rassh-agent run" in HostKeyAgent mode with an Ed25519
// host key generated in memory: it enrolls with a one-time join token and
// writes the host certificate, which this waits for.
func (tb *testbed) startAgent(bin tools, procs *processes) error {
	joinToken, err := tb.admin(bin, "join-token", "create", "--principals", hostName, "--ttl", "10m")
	if err != nil {
		return err
	}
	joinTokenFile := filepath.Join(tb.Dir, "join-token")
	if err := os.WriteFile(joinTokenFile, []byte(joinToken), 0o600); err != nil {
		return err
	}
	cfg := map[string]any{
		"ca": map[string]any{"url": tb.CAURL, "tls_fingerprint": tb.TLSPin,
			"ssh_ca_keys_file": filepath.Join(tb.Dir, "ssh-ca.pub")},
		"host":     map[string]any{"principals": []string{hostName}, "join_token_file": joinTokenFile},
		"evidence": map[string]any{"kind": "simulated", "simulated": map[string]any{"authority_dir": tb.SimDir}},
		"ra_ssh": map[string]any{
			"hostkey_agent_socket": tb.hostKeySocket(), "socket": tb.raSocket(),
			"generate_host_keys": []string{"ed25519"}, "public_key_dir": tb.Dir,
			"epoch_period": "10m", "token_refresh": "2m",
		},
	}
	path := filepath.Join(tb.Dir, "agent.json")
	if err := writeJSONFile(path, cfg); err != nil {
		return err
	}
	if _, err := procs.start(tb.AgentLog, bin.Agent, "run", "--config", path); err != nil {
		return err
	}
	for _, f := range []string{tb.hostKeySocket(), tb.raSocket(), tb.hostCert()} {
		if err := waitFor(f, 20*time.Second); err != nil {
			return fmt.Errorf("agent did not start and enroll (log %s): %w", tb.AgentLog, err)
		}
	}
	return nil
}

func (tb *testbed) hostKeySocket() string { return filepath.Join(tb.Dir, "private", "hostkey.sock") }
func (tb *testbed) raSocket() string      { return filepath.Join(tb.Dir, "public", "ra-ssh.sock") }
func (tb *testbed) hostKeyPub() string    { return filepath.Join(tb.Dir, "ssh_host_ed25519_key.pub") }
func (tb *testbed) hostCert() string      { return filepath.Join(tb.Dir, "ssh_host_ed25519_key-cert.pub") }

func (tb *testbed) writeUserKey(bin tools) error {
	tb.UserKey = filepath.Join(tb.Dir, "id_ed25519")
	if err := runTool(bin.Keygen, "-q", "-t", "ed25519", "-N", "", "-C", "bench", "-f", tb.UserKey); err != nil {
		return err
	}
	pub, err := os.ReadFile(tb.UserKey + ".pub")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(tb.Dir, "authorized_keys"), pub, 0o600)
}

// startSSHD runs sshd in the foreground on a free loopback port, its host
// key held by the agent, and waits until it accepts connections. A port
// taken between probing and binding makes sshd exit; it is then retried.
//
// sshd runs in a mount namespace of its own where /etc/passwd gives root an
// empty home directory, so the timed command is "true" and not root's
// shell start-up files. bash reads ~/.bashrc for every command sshd runs,
// and on the benchmark machine it took 130 ms. Nothing outside the
// namespace changes.
func (tb *testbed) startSSHD(ctx context.Context, bin tools, procs *processes) error {
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return err
	}
	passwd, err := tb.writePasswd()
	if err != nil {
		return err
	}
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			return err
		}
		config := filepath.Join(tb.Dir, "sshd_config")
		if err := os.WriteFile(config, []byte(tb.sshdConfig(bin, port)), 0o644); err != nil {
			return err
		}
		if err := runTool(bin.SSHD, "-t", "-f", config); err != nil {
			return err
		}
		cmd, err := procs.start(tb.SSHDLog, "unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
			`mount --bind "$0" /etc/passwd && exec "$@"`, passwd, bin.SSHD, "-D", "-e", "-f", config)
		if err != nil {
			return err
		}
		if waitListening(ctx, cmd, "127.0.0.1:"+port, 10*time.Second) {
			tb.Port = port
			return nil
		}
	}
	return fmt.Errorf("sshd did not start listening (log %s)", tb.SSHDLog)
}

// writePasswd writes a copy of /etc/passwd whose root entry has an empty
// directory below tb.Dir as its home, and returns its path.
func (tb *testbed) writePasswd() (string, error) {
	home := filepath.Join(tb.Dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		return "", err
	}
	data, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return "", err
	}
	lines := strings.Split(string(data), "\n")
	found := false
	for i, line := range lines {
		fields := strings.Split(line, ":")
		if len(fields) == 7 && fields[0] == "root" {
			fields[5] = home
			lines[i], found = strings.Join(fields, ":"), true
		}
	}
	if !found {
		return "", errors.New("no root entry in /etc/passwd")
	}
	path := filepath.Join(tb.Dir, "passwd")
	return path, os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644)
}

func (tb *testbed) sshdConfig(bin tools, port string) string {
	lines := []string{
		"ListenAddress 127.0.0.1:" + port,
		"HostKey " + tb.hostKeyPub(),
		"HostKeyAgent " + tb.hostKeySocket(),
		"HostCertificate " + tb.hostCert(),
		"PidFile none",
		"AuthorizedKeysFile " + filepath.Join(tb.Dir, "authorized_keys"),
		"StrictModes no",
		"UsePAM no",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PermitRootLogin prohibit-password",
		"AllowStreamLocalForwarding yes",
		"Subsystem ra-ssh@rassh " + bin.Agent + " respond --socket " + tb.raSocket(),
	}
	return strings.Join(lines, "\n") + "\n"
}

// writeClientFiles writes the CA's known_hosts line (used by rassh and ssh
// alike), as "rassh-ca admin known-hosts" prints it, and rassh's
// configuration, which pins the CA's token service as the only issuer.
func (tb *testbed) writeClientFiles(bin tools) error {
	line, err := tb.admin(bin, "known-hosts")
	if err != nil {
		return err
	}
	tb.KnownHosts = filepath.Join(tb.Dir, "known_hosts")
	if err := os.WriteFile(tb.KnownHosts, []byte(line), 0o600); err != nil {
		return err
	}
	cfg := map[string]any{
		"known_hosts":     []string{tb.KnownHosts},
		"identity_files":  []string{tb.UserKey},
		"agent_socket":    tb.raSocket(),
		"cache_dir":       filepath.Join(tb.Dir, "cache"),
		"allow_simulated": true,
		"issuers": []any{map[string]any{"issuer": tb.CAURL, "jwks_url": tb.CAURL + "/v1/jwks", "kind": "rassh",
			"host_patterns": []string{hostName}, "tls_fingerprint": tb.TLSPin}},
	}
	tb.RasshConf = filepath.Join(tb.Dir, "rassh.json")
	return writeJSONFile(tb.RasshConf, cfg)
}

func writeJSONFile(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

func runTool(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

func waitFor(path string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		_, err := os.Stat(path)
		if err == nil {
			return nil
		}
		if !errors.Is(err, os.ErrNotExist) || time.Now().After(deadline) {
			return fmt.Errorf("wait for %s: %w", path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitListening reports whether addr accepts a connection before limit,
// giving up early when c exits.
func waitListening(ctx context.Context, c *child, addr string, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return true
		}
		select {
		case <-c.Done:
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
	return false
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	return port, err
}
