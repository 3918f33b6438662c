package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rassh/rassh/internal/syncbuffer"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/api/wire"
	"github.com/rassh/rassh/ca/catest"
	"github.com/rassh/rassh/store"
	"github.com/rassh/rassh/verifier/tdx/tdxsim"
)

// testCA is a CA directory made by "rassh-ca init" and a running "rassh-ca
// serve" on it.
type testCA struct {
	t           *testing.T
	dir         string
	sim         *tdxsim.Authority
	fingerprint string
	url         string
	cmd         *exec.Cmd
	log         *lockedBuffer
	exited      chan error
}

// lockedBuffer collects the server's log while the test reads it.
type lockedBuffer = syncbuffer.Buffer

// initTestCA runs "rassh-ca init" with a development policy that trusts a
// new simulated-TD root and needs no collateral, and with extraArgs.
func initTestCA(t *testing.T, extraArgs ...string) *testCA {
	t.Helper()
	base := t.TempDir()
	sim, err := tdxsim.NewAuthority(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Save(filepath.Join(base, "sim")); err != nil {
		t.Fatal(err)
	}
	policyPath := filepath.Join(base, "policy.yaml")
	os.WriteFile(policyPath, []byte("require_collateral: false\nallow_simulated: true\n"), 0o644)

	c := &testCA{t: t, dir: filepath.Join(base, "ca"), sim: sim}
	args := []string{"init", "--dir", c.dir, "--host-patterns", "*.example.com",
		"--listen", "127.0.0.1:0", "--collateral", "none", "--policy", policyPath,
		"--simulation-roots", filepath.Join(base, "sim", tdxsim.RootFile)}
	out, err := exec.Command(rasshCA, append(args, extraArgs...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("rassh-ca init: %v\n%s", err, out)
	}
	pem, err := os.ReadFile(filepath.Join(c.dir, selfSignedCert))
	if err != nil {
		t.Fatal(err)
	}
	if c.fingerprint, err = pemFingerprint(pem); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), c.fingerprint) {
		t.Errorf("init output lacks the TLS fingerprint %s:\n%s", c.fingerprint, out)
	}
	return c
}

// start runs "rassh-ca serve" and waits for its start log line.
func (c *testCA) start() {
	c.t.Helper()
	c.log = &lockedBuffer{}
	c.cmd = exec.Command(rasshCA, "serve", "--config", filepath.Join(c.dir, configFile))
	stderr, _ := c.cmd.StderrPipe()
	if err := c.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	// The goroutine and the cleanup use this start's process, because a
	// later start replaces c.cmd. The cleanup waits for done instead of
	// reading ProcessState, which Wait writes concurrently.
	cmd, log, exited := c.cmd, c.log, make(chan error, 1)
	c.exited = exited
	done := make(chan struct{})
	started := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.Write(append(sc.Bytes(), '\n'))
			var line struct{ Msg, Address string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "rassh-ca started" {
				started <- line.Address
			}
		}
		exited <- cmd.Wait()
		close(done)
	}()
	c.t.Cleanup(func() {
		cmd.Process.Kill() // fails harmlessly when the process has exited
		<-done
	})
	select {
	case addr := <-started:
		c.url = "https://" + addr
	case err := <-c.exited:
		c.t.Fatalf("rassh-ca serve exited: %v\n%s", err, c.log.String())
	case <-time.After(10 * time.Second):
		c.t.Fatalf("rassh-ca serve did not start:\n%s", c.log.String())
	}
}

// admin runs an API-backed admin command and returns its standard output.
func (c *testCA) admin(args ...string) string {
	c.t.Helper()
	args = append([]string{"admin"}, args...)
	args = append(args, "--ca", c.url, "--admin-token-file", filepath.Join(c.dir, adminTokenFile), "--ca-fingerprint", c.fingerprint)
	cmd := exec.Command(rasshCA, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		c.t.Fatalf("rassh-ca %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

func (c *testCA) httpClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // test only: the server is ours
	}}
}

// enroll gets a challenge and enrolls td with one new host key.
func (c *testCA) enroll(client *http.Client, td *catest.TD, token string) (*wire.EnrollmentResponse, error) {
	var ch wire.ChallengeResponse
	if err := post(client, c.url+"/v1/challenges", nil, &ch); err != nil {
		return nil, err
	}
	_, signer := catest.HostKey()
	req, err := td.SignedRequest(ch.Nonce, []ssh.Signer{signer}, nil, token)
	if err != nil {
		return nil, err
	}
	var resp wire.EnrollmentResponse
	return &resp, post(client, c.url+"/v1/enrollments", req, &resp)
}

func post(client *http.Client, url string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	resp, err := client.Post(url, "application/json", r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %d %s", url, resp.StatusCode, data)
	}
	return json.Unmarshal(data, out)
}

func TestServeEnrollWithJoinToken(t *testing.T) {
	c := initTestCA(t)
	c.start()

	token := strings.TrimSpace(c.admin("join-token", "create", "--principals", "demo.example.com", "--ttl", "10m"))
	if !strings.HasPrefix(token, store.JoinTokenPrefix) {
		t.Fatalf("join token %q", token)
	}
	resp, err := c.enroll(c.httpClient(), catest.NewTD(c.sim, 0x42), token)
	if err != nil {
		t.Fatal(err)
	}

	certPath := filepath.Join(t.TempDir(), "host-cert.pub")
	os.WriteFile(certPath, []byte(resp.Certificates[0]+"\n"), 0o644)
	cmd := exec.Command("ssh-keygen", "-L", "-f", certPath)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -L: %v\n%s", err, out)
	}
	for _, want := range []string{
		"host certificate",
		"Principals: \n                demo.example.com\n",
		"Critical Options: (none)",
		"rassh-attestation@rassh",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("ssh-keygen -L lacks %q:\n%s", want, out)
		}
	}

	caPub, _ := os.ReadFile(filepath.Join(c.dir, caKeyFile+".pub"))
	wantLine := "@cert-authority *.example.com " + strings.TrimSuffix(strings.TrimSpace(string(caPub)), " rassh-ca") + "\n"
	if got := c.admin("known-hosts"); got != wantLine {
		t.Errorf("known-hosts = %q, want %q", got, wantLine)
	}
}

func TestServeStopsOnSIGTERM(t *testing.T) {
	c := initTestCA(t)
	c.start()
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-c.exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, c.log.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("rassh-ca serve still running 15 s after SIGTERM")
	}
	for _, want := range []string{`"msg":"rassh-ca stopping"`, `"msg":"rassh-ca stopped"`} {
		if !strings.Contains(c.log.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, c.log.String())
		}
	}
}

func TestAdminWithoutPinHintsAtFingerprint(t *testing.T) {
	c := initTestCA(t)
	c.start()

	cmd := exec.Command(rasshCA, "admin", "hosts", "--ca", c.url, "--admin-token-file", filepath.Join(c.dir, adminTokenFile))
	out, err := cmd.CombinedOutput()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != exitRejected {
		t.Fatalf("admin hosts without --ca-fingerprint: %v\n%s", err, out)
	}
	want := `rassh-ca admin: Get "` + c.url + `/v1/hosts": tls: failed to verify certificate: ` +
		`x509: certificate signed by unknown authority; pass --ca-fingerprint with the TLS certificate fingerprint ` +
		`that "rassh-ca init" printed, or --ca-bundle with a PEM file of the roots the CA's certificate chains to` + "\n"
	if string(out) != want {
		t.Errorf("output %q, want %q", out, want)
	}
}

func TestServeRefusesSecondInit(t *testing.T) {
	c := initTestCA(t)
	before, _ := os.ReadFile(filepath.Join(c.dir, caKeyFile))
	out, err := exec.Command(rasshCA, "init", "--dir", c.dir, "--host-patterns", "*.example.com").CombinedOutput()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != exitRejected {
		t.Fatalf("second init: %v", err)
	}
	want := "rassh-ca init: " + filepath.Join(c.dir, configFile) + " already exists: refusing to overwrite an existing CA; choose another --dir\n"
	if string(out) != want {
		t.Errorf("second init output %q, want %q", out, want)
	}
	after, _ := os.ReadFile(filepath.Join(c.dir, caKeyFile))
	if !bytes.Equal(before, after) {
		t.Error("second init changed the CA key")
	}
	if info, _ := os.Stat(filepath.Join(c.dir, caKeyFile)); info.Mode().Perm() != 0o600 {
		t.Errorf("CA key mode %04o, want 0600", info.Mode().Perm())
	}
}

// TestServeCrashDuringEnrollment kills the CA with SIGKILL while enrollments
// run, then checks that every record in the store is whole: each host's
// certificates exist, each certificate has exactly one accepted audit event,
// and the principal index agrees with the hosts. The CA then restarts on the
// same files and enrolls again.
func TestServeCrashDuringEnrollment(t *testing.T) {
	c := initTestCA(t)
	// Four clients on one address enroll as fast as they can.
	editConfig(t, c.dir, "burst_per_source: 20", "burst_per_source: 100000")
	c.start()
	var tds []*catest.TD
	for i := range 4 {
		td := catest.NewTD(c.sim, byte(0x10+i))
		c.admin("registration", "create", "--identity", td.Identity(), "--principals", fmt.Sprintf("h%d.example.com", i))
		tds = append(tds, td)
	}

	var accepted atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for _, td := range tds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := c.httpClient()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.enroll(client, td, ""); err == nil {
					accepted.Add(1)
				}
			}
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for accepted.Load() < 20 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
	close(stop)
	wg.Wait()
	if accepted.Load() < 20 {
		t.Fatalf("only %d enrollments before the kill", accepted.Load())
	}

	st, err := store.Open(filepath.Join(c.dir, storeFile), false)
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	checkConsistent(t, st, int(accepted.Load()))
	st.Close()

	c.start()
	if _, err := c.enroll(c.httpClient(), tds[0], ""); err != nil {
		t.Fatalf("enroll after restart: %v", err)
	}
}

func checkConsistent(t *testing.T, st *store.Store, acceptedAtLeast int) {
	t.Helper()
	certs, _ := st.Certificates()
	events, _ := st.Audit(0, 0)
	hosts, _ := st.Hosts()

	seen := map[uint64]int{}
	for _, ev := range events {
		if ev.Action == "enroll" && ev.Outcome == store.OutcomeAccepted {
			for _, s := range ev.Serials {
				seen[s]++
			}
		}
	}
	if len(certs) < acceptedAtLeast {
		t.Errorf("%d certificates, but clients saw %d accepted enrollments", len(certs), acceptedAtLeast)
	}
	if len(seen) != len(certs) {
		t.Errorf("%d serials in accepted audit events, %d certificates", len(seen), len(certs))
	}
	for _, cert := range certs {
		if seen[cert.Serial] != 1 {
			t.Errorf("certificate %d appears in %d accepted audit events", cert.Serial, seen[cert.Serial])
		}
		if _, err := ssh.ParsePublicKey(mustCertBlob(t, cert.Certificate)); err != nil {
			t.Errorf("certificate %d does not parse: %v", cert.Serial, err)
		}
	}
	for _, h := range hosts {
		for _, s := range h.Serials {
			if _, err := st.Certificate(s); err != nil {
				t.Errorf("host %s names serial %d: %v", h.Identity, s, err)
			}
		}
		for _, p := range h.Principals {
			if owner, _ := st.PrincipalOwner(p); owner != h.Identity {
				t.Errorf("principal %s owned by %q, host record says %s", p, owner, h.Identity)
			}
		}
	}
	var seq uint64
	for _, ev := range events {
		if ev.Seq != seq+1 {
			t.Errorf("audit sequence jumps from %d to %d", seq, ev.Seq)
		}
		seq = ev.Seq
	}
}

func mustCertBlob(t *testing.T, line string) []byte {
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	return k.Marshal()
}
