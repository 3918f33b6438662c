package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rassh/rassh/internal/syncbuffer"

	"github.com/rassh/rassh/api/wire"
	"github.com/rassh/rassh/enroll"
)

// syncBuffer collects a process's output while the test reads it.
type syncBuffer = syncbuffer.Buffer

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds rassh-ca and rassh-agent once per test run.
func binaries(t *testing.T) (caBin, agentBin string) {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "rassh-bin-")
		if buildErr != nil {
			return
		}
		for _, name := range []string{"rassh-ca", "rassh-agent"} {
			out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, name), "../../cmd/"+name).CombinedOutput()
			if err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", name, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "rassh-ca"), filepath.Join(binDir, "rassh-agent")
}

// worldTempDir returns a temporary directory that sshd's unprivileged child
// processes can traverse.
func worldTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "rassh-agent-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// process is a started command with its combined output.
type process struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

func start(t *testing.T, name string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(name, args...), out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("output of %s:\n%s", filepath.Base(name), p.out.String())
		}
	})
	return p
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and returns the exit code.
func (p *process) stop(t *testing.T) int {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not stop on SIGTERM", p.cmd.Path)
	}
	return p.cmd.ProcessState.ExitCode()
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// testCA is a real rassh-ca process in a temporary directory.
type testCA struct {
	bin, dir, url, fingerprint string
	proc                       *process
}

// startCA initializes a CA that trusts the simulation root without
// collateral, issues certificates of the given lifetime, and serves it.
func startCA(t *testing.T, caBin, dir, simRoot string, lifetime time.Duration) *testCA {
	t.Helper()
	policy := filepath.Join(dir, "policy.yaml")
	os.WriteFile(policy, []byte("require_collateral: false\nallow_simulated: true\n"), 0o644)
	ca := &testCA{bin: caBin, dir: filepath.Join(dir, "ca")}
	run(t, caBin, "init", "--dir", ca.dir, "--host-patterns", "*.example.com",
		"--listen", "127.0.0.1:0", "--collateral", "none", "--policy", policy, "--simulation-roots", simRoot)
	setConfig(t, filepath.Join(ca.dir, "config.yaml"), `(?m)^  lifetime: .*$`, "  lifetime: "+lifetime.String())

	// Another process may take the probed port before the CA binds it.
	for attempt := 0; attempt < 5; attempt++ {
		port := freePort(t)
		setConfig(t, filepath.Join(ca.dir, "config.yaml"), `(?m)^listen: .*$`, fmt.Sprintf("listen: 127.0.0.1:%d", port))
		ca.url = fmt.Sprintf("https://127.0.0.1:%d", port)
		if ca.serve(t) {
			return ca
		}
	}
	t.Fatal("rassh-ca: no free port after 5 attempts")
	return nil
}

func setConfig(t *testing.T, path, pattern, line string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(pattern)
	if !re.Match(data) {
		t.Fatalf("%s has no line matching %s", path, pattern)
	}
	if err := os.WriteFile(path, re.ReplaceAll(data, []byte(line)), 0o600); err != nil {
		t.Fatal(err)
	}
}

// serve starts the CA and reports whether it came up.
func (ca *testCA) serve(t *testing.T) bool {
	t.Helper()
	ca.proc = start(t, ca.bin, "serve", "--config", filepath.Join(ca.dir, "config.yaml"))
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if fp := startedFingerprint(ca.proc.out.String()); fp != "" {
			ca.fingerprint = fp
			return true
		}
		if ca.proc.exited() {
			if !strings.Contains(ca.proc.out.String(), "address already in use") {
				t.Fatalf("rassh-ca serve exited:\n%s", ca.proc.out.String())
			}
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("rassh-ca serve did not start:\n%s", ca.proc.out.String())
	return false
}

// startedFingerprint returns the TLS fingerprint from the CA's JSON start
// log line, or "" before that line.
func startedFingerprint(logs string) string {
	scanner := bufio.NewScanner(strings.NewReader(logs))
	for scanner.Scan() {
		var line struct {
			Msg       string `json:"msg"`
			TLSSHA256 string `json:"tls_sha256"`
		}
		if json.Unmarshal(scanner.Bytes(), &line) == nil && line.Msg == "rassh-ca started" {
			return line.TLSSHA256
		}
	}
	return ""
}

func (ca *testCA) stopProcess(t *testing.T) int { return ca.proc.stop(t) }

// joinToken issues a join token through the admin API.
func (ca *testCA) joinToken(t *testing.T, principals ...string) string {
	t.Helper()
	admin, err := os.ReadFile(filepath.Join(ca.dir, "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	client, err := enroll.NewHTTPClient(enroll.TLSOptions{Fingerprint: ca.fingerprint})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(wire.JoinTokenRequest{Principals: principals, TTLSeconds: 600})
	req, _ := http.NewRequest(http.MethodPost, ca.url+"/v1/join-tokens", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(admin)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var token wire.JoinTokenResponse
	if resp.StatusCode/100 != 2 || json.Unmarshal(data, &token) != nil || token.Token == "" {
		t.Fatalf("POST /v1/join-tokens: %d %s", resp.StatusCode, data)
	}
	return token.Token
}
