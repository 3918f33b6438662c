// Package sshdtest runs a real OpenSSH sshd with rassh's host agent for the
// client's end-to-end tests: a host certificate from a test CA, the agent as
// sshd's HostKeyAgent, the ra-ssh socket, and the ra-ssh@rassh subsystem
// whose responder is the test binary itself (see RunResponder).
//
// sshd runs in inetd mode (-i), one process per accepted connection on a
// listener this package holds, so no port is ever probed and reused.
package sshdtest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rassh/rassh/internal/syncbuffer"

	"github.com/rassh/rassh/client/raproto"
	"github.com/rassh/rassh/enroll/rasshd"
	"golang.org/x/crypto/ssh"
)

// SSHD is the sshd binary the tests run.
const SSHD = "/usr/sbin/sshd"

// ResponderArg makes a test binary act as the subsystem responder: the
// test's TestMain calls RunResponder when os.Args[1] is ResponderArg.
const ResponderArg = "-sshdtest.respond"

// RunResponder relays one ra-ssh exchange between stdin/stdout and the agent
// socket in os.Args[2] with the agent's real relay, and exits.
func RunResponder() {
	if err := rasshd.Relay(os.Stdin, os.Stdout, os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// CAExtension is the rassh certificate extension's name.
const CAExtension = "rassh-attestation@rassh"

// Options chooses what the host offers.
type Options struct {
	// Name is the certificate principal and the name clients dial; empty
	// means "127.0.0.1".
	Name string
	// CA signs the host certificate; nil means a new CA per host.
	CA ssh.Signer
	// RequireRASSH sets require_ra_ssh in the certificate extension.
	RequireRASSH bool
	// NoAgent runs a stock sshd: no agent, no subsystem, its own host key.
	NoAgent bool
	// NoHostKeyAgent runs the agent without HostKeyAgent mode: sshd holds the
	// private key and the agent's answers are not session-bound.
	NoHostKeyAgent bool
	// NoSubsystem leaves the ra-ssh@rassh subsystem out of sshd_config.
	NoSubsystem bool
	// NoStreamLocal sets AllowStreamLocalForwarding no.
	NoStreamLocal bool
	// Attester makes the agent's tokens.
	Attester rasshd.Attester
	// AgentSocket overrides the ra-ssh socket the subsystem relays to (for
	// relay tests); empty means this host's own agent socket.
	AgentSocket string
	// SubsystemCommand replaces the responder as the ra-ssh@rassh subsystem
	// command (for broken-responder tests); empty means the responder.
	SubsystemCommand string
}

// Host is a running sshd with its agent.
type Host struct {
	Dir       string
	Addr      string // 127.0.0.1:port
	Name      string
	CA        ssh.Signer
	HostKey   ssh.PublicKey // plain host key
	Cert      *ssh.Certificate
	RASocket  string // the agent's ra-ssh socket
	Agent     *rasshd.Agent
	ClientKey ssh.Signer
	// ClientKeyFile is the client's private key file (OpenSSH format).
	ClientKeyFile string

	log  *syncBuffer
	ln   net.Listener
	mu   sync.Mutex
	cmds []*exec.Cmd
}

// Start starts the agent (unless opts.NoAgent) and sshd.
func Start(t testing.TB, opts Options) *Host {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("sshdtest: these tests run sshd and must run as root")
	}
	h := &Host{Dir: rootTempDir(t), Name: opts.Name, CA: opts.CA, log: &syncBuffer{}}
	if h.Name == "" {
		h.Name = "127.0.0.1"
	}
	if h.CA == nil {
		h.CA = NewCA(t)
	}
	h.RASocket = filepath.Join(h.Dir, "public", "ra-ssh.sock")

	hostKeyLines := h.startAgent(t, opts)
	h.writeCert(t, opts)
	h.writeClientKey(t)
	h.startSSHD(t, opts, hostKeyLines)
	return h
}

// NewCA returns a new Ed25519 CA key.
func NewCA(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

func (h *Host) startAgent(t testing.TB, opts Options) []string {
	t.Helper()
	hostKeyPub := filepath.Join(h.Dir, "ssh_host_ed25519_key.pub")
	if opts.NoAgent || opts.NoHostKeyAgent {
		runTool(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(h.Dir, "ssh_host_ed25519_key"))
	}
	if opts.NoAgent {
		h.HostKey = readPublicKey(t, hostKeyPub)
		return []string{"HostKey " + filepath.Join(h.Dir, "ssh_host_ed25519_key")}
	}

	cfg := rasshd.Config{Socket: h.RASocket, EpochPeriod: rasshd.Duration(10 * time.Minute),
		TokenRefresh: rasshd.Duration(2 * time.Minute)}
	lines := []string{"HostKey " + hostKeyPub}
	if opts.NoHostKeyAgent {
		cfg.HostKeys = []string{hostKeyPub}
		lines = []string{"HostKey " + filepath.Join(h.Dir, "ssh_host_ed25519_key")}
	} else {
		cfg.HostKeyAgentSocket = filepath.Join(h.Dir, "private", "hostkey.sock")
		cfg.GenerateHostKeys = []string{"ed25519"}
		cfg.PublicKeyDir = h.Dir
		lines = append(lines, "HostKeyAgent "+cfg.HostKeyAgentSocket)
	}
	logger := slog.New(slog.NewTextHandler(h.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	agent, err := rasshd.Start(cfg, opts.Attester, logger)
	if err != nil {
		t.Fatalf("sshdtest: start agent: %v", err)
	}
	h.Agent = agent
	t.Cleanup(func() { h.StopAgent() })
	if agent.Server.Epoch != nil {
		if err := agent.Server.Epoch.Rotate(context.Background()); err != nil {
			t.Fatalf("sshdtest: first epoch: %v", err)
		}
	}
	h.HostKey = readPublicKey(t, hostKeyPub)
	return lines
}

// StopAgent stops the agent; sshd keeps running.
func (h *Host) StopAgent() {
	if h.Agent != nil {
		h.Agent.Close()
	}
}

func (h *Host) writeCert(t testing.TB, opts Options) {
	t.Helper()
	ext, err := json.Marshal(map[string]any{"verifier": "local", "evidence_sha256": strings.Repeat("ab", 32),
		"require_ra_ssh": opts.RequireRASSH})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	cert := &ssh.Certificate{Key: h.HostKey, Serial: uint64(now.UnixNano()), CertType: ssh.HostCert,
		KeyId: "test-" + h.Name, ValidPrincipals: []string{h.Name},
		ValidAfter: uint64(now.Add(-time.Minute).Unix()), ValidBefore: uint64(now.Add(time.Hour).Unix()),
		Permissions: ssh.Permissions{Extensions: map[string]string{CAExtension: string(ext)}}}
	if err := cert.SignCert(rand.Reader, h.CA); err != nil {
		t.Fatal(err)
	}
	h.Cert = cert
	if err := os.WriteFile(h.certPath(), ssh.MarshalAuthorizedKey(cert), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (h *Host) certPath() string { return filepath.Join(h.Dir, "ssh_host_ed25519_key-cert.pub") }

func (h *Host) writeClientKey(t testing.TB) {
	t.Helper()
	h.ClientKeyFile = filepath.Join(h.Dir, "id_ed25519")
	runTool(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", h.ClientKeyFile)
	data, err := os.ReadFile(h.ClientKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if h.ClientKey, err = ssh.ParsePrivateKey(data); err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(h.ClientKeyFile + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.Dir, "authorized_keys"), pub, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (h *Host) startSSHD(t testing.TB, opts Options, hostKeyLines []string) {
	t.Helper()
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	lines := append(hostKeyLines,
		"HostCertificate "+h.certPath(),
		"PidFile none",
		"AuthorizedKeysFile "+filepath.Join(h.Dir, "authorized_keys"),
		"StrictModes no",
		"UsePAM no",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PermitRootLogin prohibit-password",
		"LogLevel DEBUG1",
	)
	if opts.NoStreamLocal {
		lines = append(lines, "AllowStreamLocalForwarding no")
	}
	if !opts.NoAgent && !opts.NoSubsystem {
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		socket := h.RASocket
		if opts.AgentSocket != "" {
			socket = opts.AgentSocket
		}
		command := fmt.Sprintf("%s %s %s", self, ResponderArg, socket)
		if opts.SubsystemCommand != "" {
			command = opts.SubsystemCommand
		}
		lines = append(lines, fmt.Sprintf("Subsystem %s %s", raproto.SubsystemName, command))
	}
	config := filepath.Join(h.Dir, "sshd_config")
	if err := os.WriteFile(config, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runTool(t, SSHD, "-t", "-f", config)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.ln, h.Addr = ln, ln.Addr().String()
	go h.accept(config)
	t.Cleanup(func() {
		h.Close()
		if t.Failed() {
			t.Logf("agent and sshd log:\n%s", h.Log())
		}
	})
}

// accept runs one sshd -i per connection, with the socket as its stdin and
// stdout.
func (h *Host) accept(config string) {
	for {
		c, err := h.ln.Accept()
		if err != nil {
			return
		}
		f, err := c.(*net.TCPConn).File()
		c.Close()
		if err != nil {
			continue
		}
		// -E, not -e: with -e the session processes would log into the
		// channels' standard error.
		cmd := exec.Command(SSHD, "-i", "-E", h.logFile(), "-f", config)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = f, f, h.log
		err = cmd.Start()
		f.Close()
		if err != nil {
			fmt.Fprintf(h.log, "sshdtest: start sshd: %v\n", err)
			continue
		}
		h.mu.Lock()
		h.cmds = append(h.cmds, cmd)
		h.mu.Unlock()
		go cmd.Wait()
	}
}

// Close stops accepting and kills the sshd processes this host started.
func (h *Host) Close() {
	h.ln.Close()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, cmd := range h.cmds {
		cmd.Process.Kill()
	}
	h.cmds = nil
}

// Log returns what the agent and sshd logged so far.
func (h *Host) Log() string {
	sshdLog, _ := os.ReadFile(h.logFile())
	return h.log.String() + string(sshdLog)
}

func (h *Host) logFile() string { return filepath.Join(h.Dir, "sshd.log") }

// Port returns the listening port.
func (h *Host) Port() string {
	_, port, _ := net.SplitHostPort(h.Addr)
	return port
}

// KnownHostsLine returns the @cert-authority line that trusts this host's CA
// for its name.
func (h *Host) KnownHostsLine() string {
	return fmt.Sprintf("@cert-authority %s,[%s]:* %s", h.Name, h.Name, ssh.MarshalAuthorizedKey(h.CA.PublicKey()))
}

func rootTempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sshdtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runTool(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}

func readPublicKey(t testing.TB, path string) ssh.PublicKey {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	key, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer = syncbuffer.Buffer
