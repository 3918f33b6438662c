package rasshd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"io"
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

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/client/raproto"
	"github.com/rassh/rassh/verifier/binding"
)

const (
	sshdPath   = "/usr/sbin/sshd"
	sshPath    = "/usr/bin/ssh"
	sshAddPath = "/usr/bin/ssh-add"
)

// testLogger discards logs unless -v is given.
func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// recordingAttester returns a token that names the binding value, and
// records every value it attested.
type recordingAttester struct {
	mu     sync.Mutex
	values []binding.Value
	delay  time.Duration
	err    error
}

func (a *recordingAttester) Attest(ctx context.Context, v binding.Value) (string, error) {
	if a.delay > 0 {
		time.Sleep(a.delay)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return "", a.err
	}
	a.values = append(a.values, v)
	return fmt.Sprintf("token-%x", v[:8]), nil
}

func tokenFor(v binding.Value) string { return fmt.Sprintf("token-%x", v[:8]) }

// hostEnv is one agent (HostKeyAgent and ra-ssh sockets) plus one real sshd
// that uses it.
type hostEnv struct {
	dir        string
	agentSock  string
	raSock     string
	keys       *KeyRing
	sessions   *Sessions
	server     *Server
	hkaListen  *net.UnixListener
	raListen   *net.UnixListener
	attester   *recordingAttester
	clientKey  ssh.Signer
	clientPriv ed25519.PrivateKey
	addr       string
	sshd       *exec.Cmd
	sshdLog    *syncBuffer
	agentLog   *syncBuffer
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer = syncbuffer.Buffer

// rootTempDir returns a temporary directory whose path every user can
// traverse, as sshd's StrictModes-free setup and the unprivileged probes need.
func rootTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "rasshd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newHostEnv starts the agent with one generated Ed25519 host key (and the
// extra key types given) and a real sshd that uses it as HostKeyAgent.
func newHostEnv(t *testing.T, extraKeyTypes ...string) *hostEnv {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("these tests run sshd and must run as root")
	}
	e := &hostEnv{dir: rootTempDir(t), keys: &KeyRing{}, sessions: NewSessions(), attester: &recordingAttester{}}
	e.agentSock = filepath.Join(e.dir, "private", "hostkey.sock")
	e.raSock = filepath.Join(e.dir, "public", "ra-ssh.sock")

	var hostKeyLines []string
	for _, typ := range append([]string{"ed25519"}, extraKeyTypes...) {
		pub, err := e.keys.GenerateKey(typ)
		if err != nil {
			t.Fatal(err)
		}
		if err := writePublicKey(e.dir, typ, pub); err != nil {
			t.Fatal(err)
		}
		hostKeyLines = append(hostKeyLines, "HostKey "+filepath.Join(e.dir, "ssh_host_"+typ+"_key.pub"))
	}

	e.startAgent(t)
	e.writeClientKey(t)
	e.startSSHD(t, hostKeyLines)
	return e
}

func (e *hostEnv) startAgent(t *testing.T) {
	t.Helper()
	hl, err := ListenPrivate(e.agentSock)
	if err != nil {
		t.Fatal(err)
	}
	e.hkaListen = hl
	e.agentLog = &syncBuffer{}
	var logOut io.Writer = e.agentLog
	if testing.Verbose() {
		logOut = io.MultiWriter(e.agentLog, os.Stderr)
	}
	hka := &HostKeyAgent{Keys: e.keys, Sessions: e.sessions, Logger: slog.New(slog.NewTextHandler(logOut, nil))}
	go hka.Serve(hl)
	t.Cleanup(func() { hl.Close() })

	e.server = &Server{
		Sessions: e.sessions,
		HostKeys: e.keys.Blobs(),
		Fresh:    &Fresh{Attester: e.attester},
		Epoch:    &Epoch{Attester: e.attester, HostKeys: e.keys.Blobs(), Logger: testLogger(t)},
		Logger:   testLogger(t),
	}
	if err := e.server.Epoch.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	rl, err := ListenPublic(e.raSock, -1)
	if err != nil {
		t.Fatal(err)
	}
	e.raListen = rl
	go e.server.Serve(rl)
	t.Cleanup(func() { rl.Close() })
}

func (e *hostEnv) writeClientKey(t *testing.T) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e.clientPriv = priv
	e.clientKey, err = ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, _ := ssh.NewPublicKey(pub)
	if err := os.WriteFile(filepath.Join(e.dir, "authorized_keys"), ssh.MarshalAuthorizedKey(sshPub), 0o644); err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	var pemBuf bytes.Buffer
	if err := pemEncode(&pemBuf, block); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.dir, "id_ed25519"), pemBuf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// startSSHD starts sshd on a free loopback port. Another process may take
// the port between the probe and sshd's bind, so a bind failure is retried
// with a new port.
func (e *hostEnv) startSSHD(t *testing.T, hostKeyLines []string) {
	t.Helper()
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for attempt := 0; attempt < 5; attempt++ {
		port := freePort(t)
		config := strings.Join(append(hostKeyLines,
			"HostKeyAgent "+e.agentSock,
			fmt.Sprintf("ListenAddress 127.0.0.1:%d", port),
			"PidFile none",
			"AuthorizedKeysFile "+filepath.Join(e.dir, "authorized_keys"),
			"StrictModes no",
			"UsePAM no",
			"PasswordAuthentication no",
			"KbdInteractiveAuthentication no",
			"PermitRootLogin prohibit-password",
			"AllowStreamLocalForwarding yes",
			"LogLevel DEBUG1",
			fmt.Sprintf("Subsystem %s %s %s %s", raproto.SubsystemName, self, respondFlag, e.raSock),
		), "\n") + "\n"
		configPath := filepath.Join(e.dir, "sshd_config")
		if err := os.WriteFile(configPath, []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}

		log := &syncBuffer{}
		cmd := exec.Command(sshdPath, "-D", "-e", "-f", configPath)
		cmd.Stderr = log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if waitListening(cmd, log) {
			e.sshd, e.sshdLog, e.addr = cmd, log, fmt.Sprintf("127.0.0.1:%d", port)
			t.Cleanup(func() {
				cmd.Process.Kill()
				cmd.Wait()
				if t.Failed() {
					t.Logf("sshd log:\n%s", log.String())
				}
			})
			return
		}
		cmd.Process.Kill()
		cmd.Wait()
		if !strings.Contains(log.String(), "Address already in use") {
			t.Fatalf("sshd did not start:\n%s", log.String())
		}
	}
	t.Fatal("sshd: no free port after 5 attempts")
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitListening waits until sshd logs that it listens, or exits.
func waitListening(cmd *exec.Cmd, log *syncBuffer) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(log.String(), "Server listening on") {
			return true
		}
		if cmd.ProcessState != nil || strings.Contains(log.String(), "Cannot bind") {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// dial connects with x/crypto/ssh as root and returns the client and the
// host key the server presented.
func (e *hostEnv) dial(t *testing.T, rekeyThreshold uint64) (*ssh.Client, ssh.PublicKey) {
	t.Helper()
	return e.dialAs(t, "root", rekeyThreshold)
}

func (e *hostEnv) dialAs(t *testing.T, user string, rekeyThreshold uint64) (*ssh.Client, ssh.PublicKey) {
	t.Helper()
	client, hostKey, err := e.tryDial(user, rekeyThreshold)
	if err != nil {
		t.Fatalf("dial sshd: %v", err)
	}
	t.Cleanup(func() { client.Close() })
	return client, hostKey
}

func (e *hostEnv) tryDial(user string, rekeyThreshold uint64) (*ssh.Client, ssh.PublicKey, error) {
	var hostKey ssh.PublicKey
	cfg := &ssh.ClientConfig{
		User: user,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(e.clientKey)},
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if !containsBlob(e.keys.Blobs(), key.Marshal()) {
				return fmt.Errorf("unexpected host key %s", ssh.FingerprintSHA256(key))
			}
			hostKey = key
			return nil
		},
		Timeout: 10 * time.Second,
	}
	cfg.RekeyThreshold = rekeyThreshold
	client, err := ssh.Dial("tcp", e.addr, cfg)
	return client, hostKey, err
}

// newRequest builds a request for the client's session.
func newRequest(t *testing.T, mode string, sessionID []byte, hostKey ssh.PublicKey) *raproto.Request {
	nonce := make([]byte, raproto.NonceSize)
	rand.Read(nonce)
	return &raproto.Request{Version: 1, Mode: mode, Nonce: nonce, SessionID: sessionID, HostKey: hostKey.Marshal()}
}

// askStreamLocal sends req over a direct-streamlocal channel to the agent.
func (e *hostEnv) askStreamLocal(t *testing.T, client *ssh.Client, req *raproto.Request) *raproto.Response {
	t.Helper()
	conn, err := client.Dial("unix", e.raSock)
	if err != nil {
		t.Fatalf("open direct-streamlocal channel: %v", err)
	}
	defer conn.Close()
	return exchange(t, conn, conn, req)
}

// askSubsystem sends req through the ra-ssh@rassh subsystem.
func askSubsystem(t *testing.T, client *ssh.Client, req *raproto.Request) *raproto.Response {
	t.Helper()
	session, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer session.Close()
	stdin, _ := session.StdinPipe()
	stdout, _ := session.StdoutPipe()
	if err := session.RequestSubsystem(raproto.SubsystemName); err != nil {
		t.Fatalf("request subsystem: %v", err)
	}
	return exchange(t, stdin, bufio.NewReader(stdout), req)
}

func exchange(t *testing.T, w io.Writer, r io.Reader, req *raproto.Request) *raproto.Response {
	t.Helper()
	if err := raproto.WriteFrame(w, req); err != nil {
		t.Fatal(err)
	}
	var resp raproto.Response
	if err := raproto.ReadFrame(r, &resp); err != nil {
		t.Fatalf("read response: %v", err)
	}
	return &resp
}

// waitFor polls cond for up to five seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func pemEncode(w io.Writer, block *pem.Block) error { return pem.Encode(w, block) }
