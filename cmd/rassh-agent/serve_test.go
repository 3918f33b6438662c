package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/api/wire"
	"github.com/rassh/rassh/client/raproto"
	"github.com/rassh/rassh/verifier/binding"
	"github.com/rassh/rassh/verifier/tdx"
	"github.com/rassh/rassh/verifier/tdx/tdxsim"
)

var (
	serveBuildOnce sync.Once
	serveAgentBin  string
	serveBuildErr  error
)

// serveAgentBinary builds rassh-agent once per test run.
func serveAgentBinary(t *testing.T) string {
	t.Helper()
	serveBuildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rassh-agent-bin-")
		if err != nil {
			serveBuildErr = err
			return
		}
		serveAgentBin = filepath.Join(dir, "rassh-agent")
		out, err := exec.Command("go", "build", "-o", serveAgentBin, ".").CombinedOutput()
		if err != nil {
			serveBuildErr = err
			serveAgentBin = string(out)
		}
	})
	if serveBuildErr != nil {
		t.Fatalf("build rassh-agent: %v\n%s", serveBuildErr, serveAgentBin)
	}
	return serveAgentBin
}

// attestService stands in for the CA's token service: it verifies the
// simulated quote and returns a token naming its REPORTDATA.
func attestService(t *testing.T, authority *tdxsim.Authority) *httptest.Server {
	v := &tdx.Verifier{SimulationRoots: authority.RootPool()}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req wire.AttestRequest
		if r.URL.Path != "/v1/attest" || json.NewDecoder(r.Body).Decode(&req) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		claims, err := v.VerifyQuote(r.Context(), req.Evidence.Quote)
		if err != nil {
			http.Error(w, "rejected", http.StatusForbidden)
			return
		}
		json.NewEncoder(w).Encode(wire.AttestResponse{Token: "token-" + hex.EncodeToString(claims.ReportData)})
	}))
	t.Cleanup(srv.Close)
	return srv
}

type serveSetup struct {
	dir, config, raSock, hostPub string
	hostKey                      ssh.PublicKey
}

// writeServeConfig writes an agent configuration without HostKeyAgent mode:
// a simulated TD, the stand-in token service, and one host public key file.
func writeServeConfig(t *testing.T) *serveSetup {
	t.Helper()
	dir := t.TempDir()
	authority, err := tdxsim.NewAuthority(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	authDir := filepath.Join(dir, "authority")
	if err := authority.Save(authDir); err != nil {
		t.Fatal(err)
	}
	srv := attestService(t, authority)
	fingerprint := sha256.Sum256(srv.Certificate().Raw)

	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	hostKey, _ := ssh.NewPublicKey(pub)
	s := &serveSetup{dir: dir, config: filepath.Join(dir, "agent.yaml"), raSock: filepath.Join(dir, "ra", "ra-ssh.sock"),
		hostPub: filepath.Join(dir, "ssh_host_ed25519_key.pub"), hostKey: hostKey}
	os.WriteFile(s.hostPub, ssh.MarshalAuthorizedKey(hostKey), 0o644)

	config := strings.Join([]string{
		"ca:",
		"  url: " + srv.URL,
		"  tls_fingerprint: " + hex.EncodeToString(fingerprint[:]),
		"  ssh_ca_keys: [\"" + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(hostKey))) + "\"]",
		"host:",
		"  keys: [" + s.hostPub + "]",
		"evidence:",
		"  kind: simulated",
		"  simulated:",
		"    authority_dir: " + authDir,
		"ra_ssh:",
		"  socket: " + s.raSock,
		"  host_keys: [" + s.hostPub + "]",
		"  modes: [fresh]",
	}, "\n") + "\n"
	os.WriteFile(s.config, []byte(config), 0o600)
	return s
}

func TestServeAndRespond(t *testing.T) {
	bin := serveAgentBinary(t)
	s := writeServeConfig(t)

	var serveLog bytes.Buffer
	serve := exec.Command(bin, "serve", "--config", s.config)
	serve.Stderr = &serveLog
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer serve.Process.Kill()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(s.raSock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ra-ssh socket did not appear:\n%s", serveLog.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	nonce := make([]byte, raproto.NonceSize)
	rand.Read(nonce)
	req := &raproto.Request{Version: 1, Mode: raproto.ModeFresh, Nonce: nonce, SessionID: bytes.Repeat([]byte{4}, 32), HostKey: s.hostKey.Marshal()}
	var in bytes.Buffer
	raproto.WriteFrame(&in, req)
	respond := exec.Command(bin, "respond", "--socket", s.raSock)
	respond.Stdin = &in
	out, err := respond.Output()
	if err != nil {
		t.Fatalf("respond: %v\nserve log:\n%s", err, serveLog.String())
	}

	var resp raproto.Response
	r := bytes.NewReader(out)
	if err := raproto.ReadFrame(r, &resp); err != nil {
		t.Fatal(err)
	}
	want := binding.Connect(req.Nonce, req.SessionID, req.HostKey)
	if resp.Status != raproto.StatusOK || resp.SessionBound || resp.Token != "token-"+hex.EncodeToString(want[:]) {
		t.Fatalf("answer %+v, want an unbound fresh token over binding.Connect\nserve log:\n%s", resp, serveLog.String())
	}
	if r.Len() != 0 {
		t.Fatalf("respond wrote %d bytes after the frame", r.Len())
	}

	serve.Process.Signal(syscall.SIGTERM)
	if err := serve.Wait(); err != nil {
		t.Fatalf("serve did not exit cleanly: %v\n%s", err, serveLog.String())
	}
	if _, err := os.Stat(s.raSock); !os.IsNotExist(err) {
		t.Fatalf("socket left behind after stop: %v", err)
	}
}

func TestRespondAgentDown(t *testing.T) {
	bin := serveAgentBinary(t)
	var in bytes.Buffer
	raproto.WriteFrame(&in, &raproto.Request{Version: 1, Mode: raproto.ModeEpoch})
	respond := exec.Command(bin, "respond", "--socket", filepath.Join(t.TempDir(), "none.sock"))
	respond.Stdin = &in
	var stderr bytes.Buffer
	respond.Stderr = &stderr
	out, err := respond.Output()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != exitRejected {
		t.Fatalf("exit: %v, want status %d", err, exitRejected)
	}
	var resp raproto.Response
	if err := raproto.ReadFrame(bytes.NewReader(out), &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Code != raproto.CodeAgentDown {
		t.Fatalf("code %q, want %q", resp.Code, raproto.CodeAgentDown)
	}
	if !strings.HasPrefix(stderr.String(), "rassh-agent respond: connect to agent: ") {
		t.Fatalf("stderr %q", stderr.String())
	}
}

func TestServeWithoutRASSHSection(t *testing.T) {
	bin := serveAgentBinary(t)
	s := writeServeConfig(t)
	data, _ := os.ReadFile(s.config)
	cut := strings.Index(string(data), "ra_ssh:")
	os.WriteFile(s.config, data[:cut], 0o600)
	out, err := exec.Command(bin, "serve", "--config", s.config).CombinedOutput()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != exitUsage {
		t.Fatalf("exit: %v, want status %d\n%s", err, exitUsage, out)
	}
	if !strings.Contains(string(out), "the ra_ssh section is missing") {
		t.Fatalf("output %q does not name the missing section", out)
	}
}
