package enroll

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rassh/rassh/internal/syncbuffer"

	"golang.org/x/crypto/ssh"
)

// syncBuffer collects a process's output while the test reads it.
type syncBuffer = syncbuffer.Buffer

func newAgent(t *testing.T, ca *testCA, logs *syncBuffer) (*Agent, string) {
	t.Helper()
	k, _ := hostKey(t)
	certPath := filepath.Join(t.TempDir(), "ssh_host_ed25519_key-cert.pub")
	a := &Agent{
		Enroller:   newEnroller(t, ca, k),
		CertPaths:  []string{certPath},
		Logger:     slog.New(slog.NewTextHandler(logs, nil)),
		MinBackoff: 20 * time.Millisecond,
		MaxBackoff: 100 * time.Millisecond,
	}
	return a, certPath
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func installedSerial(t *testing.T, path string) uint64 {
	t.Helper()
	certs, err := ReadCertificates([]string{path})
	if err != nil {
		return 0
	}
	return certs[0].Serial
}

func TestAgentEnrollOnceInstallsAndReloads(t *testing.T) {
	ca := newTestCA(t)
	a, certPath := newAgent(t, ca, &syncBuffer{})
	marker := filepath.Join(t.TempDir(), "reloaded")
	a.Reloader = &Reloader{Command: []string{"touch", marker}}

	enrollment, err := a.EnrollOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := installedSerial(t, certPath); got != enrollment.Certificates[0].Serial {
		t.Errorf("installed serial %d, expected %d", got, enrollment.Certificates[0].Serial)
	}
	info, err := os.Stat(certPath)
	if err != nil || info.Mode().Perm() != 0o644 {
		t.Errorf("certificate file: %v, mode %v", err, info.Mode())
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("reload command did not run: %v", err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(certPath), ".*tmp*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %q", leftovers)
	}
}

func TestAgentReloadFailure(t *testing.T) {
	ca := newTestCA(t)
	a, _ := newAgent(t, ca, &syncBuffer{})
	a.Reloader = &Reloader{Command: []string{"sh", "-c", "echo no sshd >&2; exit 3"}}
	_, err := a.EnrollOnce(context.Background())
	want := `reload command ["sh" "-c" "echo no sshd >&2; exit 3"]: exit status 3: no sshd`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, expected %s", err, want)
	}
}

func TestAgentDropsSpentJoinToken(t *testing.T) {
	ca := newTestCA(t)
	a, _ := newAgent(t, ca, &syncBuffer{})
	a.Enroller.JoinToken = "tok"

	if _, err := a.EnrollOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if a.Enroller.JoinToken != "" {
		t.Errorf("join token kept after a successful enrollment")
	}

	// A restarted agent with the same token retries without it.
	a.Enroller.JoinToken = "tok"
	if _, err := a.EnrollOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := ca.enrollments(); n != 3 {
		t.Fatalf("%d enrollment requests, expected 3", n)
	}
	if ca.requests[1].JoinToken != "tok" || ca.requests[2].JoinToken != "" {
		t.Errorf("second and third requests carried tokens %q and %q", ca.requests[1].JoinToken, ca.requests[2].JoinToken)
	}
}

func TestAgentRenewsThroughOutage(t *testing.T) {
	ca := newTestCA(t)
	ca.lifetime = 3 * time.Second
	logs := &syncBuffer{}
	a, certPath := newAgent(t, ca, logs)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()

	waitFor(t, "first certificate", func() bool { return installedSerial(t, certPath) != 0 })
	first := installedSerial(t, certPath)

	// The CA goes down: the agent retries and keeps the valid certificate.
	ca.setDown(true)
	waitFor(t, "a logged retry", func() bool {
		return strings.Contains(logs.String(), "renewal failed; the installed certificate is still valid")
	})
	if got := installedSerial(t, certPath); got != first {
		t.Errorf("certificate replaced during the outage")
	}

	ca.setDown(false)
	waitFor(t, "a renewed certificate", func() bool {
		s := installedSerial(t, certPath)
		return s != 0 && s != first
	})

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "renewal stopped") {
		t.Errorf("no stop logged")
	}
	if !strings.Contains(logs.String(), "retry_in=") || !strings.Contains(logs.String(), "attempt=1") {
		t.Errorf("retry not logged with its attempt and delay:\n%s", logs.String())
	}
}

func TestAgentRenewalSchedule(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	a := &Agent{Enroller: &Enroller{Now: func() time.Time { return now }}}
	cert := &ssh.Certificate{ValidBefore: uint64(now.Add(90 * time.Minute).Unix())}
	e := &Enrollment{Certificates: []*ssh.Certificate{cert}, ReceivedAt: now}

	a.Random = func() float64 { return 0 }
	if got := a.renewDelay(e); got != time.Hour {
		t.Errorf("delay without jitter = %v, expected 1h", got)
	}
	a.Random = func() float64 { return 0.999999 }
	if got := a.renewDelay(e); got <= 51*time.Minute || got > time.Hour {
		t.Errorf("delay with maximum jitter = %v, expected just over 51m", got)
	}
}

func TestAgentBackoff(t *testing.T) {
	a := &Agent{MinBackoff: time.Second, MaxBackoff: 10 * time.Second, Random: func() float64 { return 0 }}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, w := range want {
		if got := a.backoff(i + 1); got != w {
			t.Errorf("backoff(%d) = %v, expected %v", i+1, got, w)
		}
	}
	a.Random = func() float64 { return 0.999999 }
	if got := a.backoff(1); got <= 750*time.Millisecond || got > time.Second {
		t.Errorf("backoff with maximum jitter = %v", got)
	}
}

func TestAgentKeepsInstalledCertificateWhenCADown(t *testing.T) {
	ca := newTestCA(t)
	logs := &syncBuffer{}
	a, certPath := newAgent(t, ca, logs)
	if _, err := a.EnrollOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	serial := installedSerial(t, certPath)

	// A restarted agent finds the CA down.
	ca.setDown(true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	waitFor(t, "a logged retry", func() bool {
		return strings.Contains(logs.String(), "renewal failed; the installed certificate is still valid")
	})
	cancel()
	<-done
	if !strings.Contains(logs.String(), "installed certificates are valid") {
		t.Errorf("installed certificate not recognized:\n%s", logs.String())
	}
	if installedSerial(t, certPath) != serial {
		t.Errorf("installed certificate changed")
	}
}

func TestLoadHostKeys(t *testing.T) {
	dir := t.TempDir()
	k1, _ := hostKey(t)
	k2, priv2 := hostKey(t)

	// Key 1 has a .pub file; key 2 only its private key.
	path1 := filepath.Join(dir, "ssh_host_ed25519_key")
	os.WriteFile(path1+".pub", ssh.MarshalAuthorizedKey(k1), 0o644)
	path2 := filepath.Join(dir, "other_key")
	writePrivateKey(t, path2, priv2)

	loaded, err := LoadHostKeys([]string{path1, path2})
	if err != nil {
		t.Fatal(err)
	}
	keys := loaded.Public()
	if len(keys) != 2 || !bytes.Equal(keys[0].Marshal(), k1.Marshal()) || !bytes.Equal(keys[1].Marshal(), k2.Marshal()) {
		t.Errorf("keys = %v", keys)
	}
	// Key 1's private key file is missing, so no proof can be made.
	if loaded.Signers() != nil || loaded.SignerError() == nil || !strings.Contains(loaded.SignerError().Error(), path1) {
		t.Errorf("signers %v, signer error %v, want none because %s is missing", loaded.Signers(), loaded.SignerError(), path1)
	}

	_, err = LoadHostKeys([]string{path1, path1 + ".pub"})
	want := "load host key " + path1 + ".pub: duplicate of another configured key"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, expected %s", err, want)
	}
	missing := filepath.Join(dir, "missing_key")
	if _, err := LoadHostKeys([]string{missing}); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("error = %v, expected one naming %s", err, missing)
	}
}

func TestCertPaths(t *testing.T) {
	if got := CertPath("/etc/ssh/ssh_host_ed25519_key.pub"); got != "/etc/ssh/ssh_host_ed25519_key-cert.pub" {
		t.Errorf("CertPath = %s", got)
	}
	if got := CertPath("/etc/ssh/ssh_host_ed25519_key"); got != "/etc/ssh/ssh_host_ed25519_key-cert.pub" {
		t.Errorf("CertPath = %s", got)
	}
	k, _ := hostKey(t)
	if got := CertPathIn("/run/rassh", k); got != "/run/rassh/ssh_host_ed25519_key-cert.pub" {
		t.Errorf("CertPathIn = %s", got)
	}
}

func TestWriteFileAtomicReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := WriteFileAtomic(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(path, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	info, _ := os.Stat(path)
	if string(data) != "new" || info.Mode().Perm() != 0o644 {
		t.Errorf("content %q, mode %v", data, info.Mode())
	}
}

func writePrivateKey(t *testing.T, path string, key ed25519.PrivateKey) {
	t.Helper()
	block, err := ssh.MarshalPrivateKey(key, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
}
