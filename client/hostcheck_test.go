package client

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

var (
	certValidAfter  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	certValidBefore = time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)
)

const certValidity = "20260101000000:20260101010000"

type hostCheckFixture struct {
	dir       string
	ca        ssh.PublicKey
	hostKey   ssh.PublicKey
	cert      *ssh.Certificate
	checker   *HostChecker
	knownHost string
}

func newHostCheckFixture(t *testing.T, extra ...string) *hostCheckFixture {
	t.Helper()
	dir := t.TempDir()
	f := &hostCheckFixture{dir: dir, ca: keygen(t, dir, "ca"), hostKey: keygen(t, dir, "host")}
	f.cert = signHostCert(t, dir, "ca", "host", "web1-enroll-7", "web1.fleet.test", certValidity, "42", extra...)
	f.knownHost = "@cert-authority *.fleet.test " + string(ssh.MarshalAuthorizedKey(f.ca))
	f.checker = &HostChecker{KnownHosts: mustParseKnownHosts(t, f.knownHost),
		Now: func() time.Time { return certValidAfter.Add(time.Minute) }}
	return f
}

func mustParseKnownHosts(t *testing.T, content string) *KnownHosts {
	t.Helper()
	kh, err := ParseKnownHosts([]byte(content))
	if err != nil {
		t.Fatal(err)
	}
	return kh
}

func TestHostCheckCertificateAccepted(t *testing.T) {
	f := newHostCheckFixture(t)
	id, err := f.checker.Check("web1.fleet.test:22", f.cert)
	if err != nil {
		t.Fatal(err)
	}
	if id.Cert == nil || id.Cert.Serial != 42 {
		t.Errorf("identity certificate %v, expected serial 42", id.Cert)
	}
	if string(id.Key.Marshal()) != string(f.hostKey.Marshal()) {
		t.Error("identity key is not the plain host key")
	}
	if id.Attestation != nil || id.RequiresRASSH() {
		t.Error("certificate without the extension has attestation data")
	}
}

func TestHostCheckValidityEdges(t *testing.T) {
	f := newHostCheckFixture(t)
	cases := []struct {
		now time.Time
		ok  bool
	}{
		{certValidAfter.Add(-time.Second), false},
		{certValidAfter, true},
		{certValidBefore.Add(-time.Second), true},
		{certValidBefore, false},
	}
	for _, c := range cases {
		f.checker.Now = func() time.Time { return c.now }
		_, err := f.checker.Check("web1.fleet.test:22", f.cert)
		if (err == nil) != c.ok {
			t.Errorf("at %s: error %v, expected accepted=%v", c.now.Format(time.RFC3339), err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrHostKey) {
			t.Errorf("at %s: error %v, expected ErrHostKey", c.now.Format(time.RFC3339), err)
		}
	}
}

func TestHostCheckRejections(t *testing.T) {
	f := newHostCheckFixture(t)
	cases := map[string]struct {
		address, knownHosts string
		want                error
		text                string
	}{
		"principal":         {"web2.fleet.test:22", f.knownHost, ErrHostKey, `principal "web2.fleet.test" not in the set`},
		"host pattern":      {"web1.other.test:22", f.knownHost, ErrHostKey, "no authorities for hostname"},
		"negated":           {"web1.fleet.test:22", "@cert-authority *.fleet.test,!web1.fleet.test " + string(ssh.MarshalAuthorizedKey(f.ca)), ErrHostKey, "no authorities"},
		"nonstandard port":  {"web1.fleet.test:2222", f.knownHost, ErrHostKey, "no authorities"},
		"plain line for CA": {"web1.fleet.test:22", "web1.fleet.test " + string(ssh.MarshalAuthorizedKey(f.ca)), ErrHostKey, "no authorities"},
		"revoked CA":        {"web1.fleet.test:22", f.knownHost + "@revoked * " + string(ssh.MarshalAuthorizedKey(f.ca)), ErrHostKeyRevoked, ssh.FingerprintSHA256(f.ca)},
		"revoked key":       {"web1.fleet.test:22", f.knownHost + "@revoked * " + string(ssh.MarshalAuthorizedKey(f.hostKey)), ErrHostKeyRevoked, ssh.FingerprintSHA256(f.hostKey)},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			checker := &HostChecker{KnownHosts: mustParseKnownHosts(t, c.knownHosts), Now: f.checker.Now}
			_, err := checker.Check(c.address, f.cert)
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, expected %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.text) {
				t.Errorf("error %q does not mention %q", err, c.text)
			}
		})
	}
}

func TestHostCheckPlainKey(t *testing.T) {
	f := newHostCheckFixture(t)
	line := "[web1.fleet.test]:2222 " + string(ssh.MarshalAuthorizedKey(f.hostKey))
	checker := &HostChecker{KnownHosts: mustParseKnownHosts(t, line)}

	id, err := checker.Check("web1.fleet.test:2222", f.hostKey)
	if err != nil {
		t.Fatal(err)
	}
	if id.Cert != nil {
		t.Error("plain key has a certificate")
	}
	// A certificate from an unknown CA falls back to its plain key, as in ssh.
	id, err = checker.Check("web1.fleet.test:2222", f.cert)
	if err != nil {
		t.Fatalf("certificate with plain key listed: %v", err)
	}
	if id.Cert != nil || id.Attestation != nil {
		t.Error("untrusted certificate kept in the identity")
	}
	_, err = checker.Check("web1.fleet.test:22", f.hostKey)
	if !errors.Is(err, ErrHostKey) {
		t.Errorf("port 22: error %v, expected ErrHostKey", err)
	}
}

func TestHostCheckHashedKnownHosts(t *testing.T) {
	f := newHostCheckFixture(t)
	path := filepath.Join(f.dir, "known_hosts")
	content := fmt.Sprintf("web1.fleet.test %s[web1.fleet.test]:2222 %s", ssh.MarshalAuthorizedKey(f.hostKey), ssh.MarshalAuthorizedKey(f.hostKey))
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	runTool(t, "ssh-keygen", "-H", "-f", path)
	hashed, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(hashed), "web1") {
		t.Fatalf("ssh-keygen -H left names in place:\n%s", hashed)
	}
	kh, err := LoadKnownHosts(path, filepath.Join(f.dir, "missing"))
	if err != nil {
		t.Fatal(err)
	}
	for _, address := range []string{"web1.fleet.test:22", "WEB1.fleet.test:2222"} {
		if !kh.HasHostKey(f.hostKey, address) {
			t.Errorf("hashed entry for %s not matched", address)
		}
	}
	if kh.HasHostKey(f.hostKey, "web2.fleet.test:22") {
		t.Error("hashed entry matched another host")
	}
}

func TestHostCheckExtension(t *testing.T) {
	f := newHostCheckFixture(t, "-O", `extension:`+ExtensionName+`={"verifier":"local","evidence_sha256":"ab01","require_ra_ssh":true}`)
	id, err := f.checker.Check("web1.fleet.test:22", f.cert)
	if err != nil {
		t.Fatal(err)
	}
	want := Extension{Verifier: "local", EvidenceSHA256: "ab01", RequireRASSH: true}
	if id.Attestation == nil || *id.Attestation != want {
		t.Fatalf("extension %+v, expected %+v", id.Attestation, want)
	}
	if !id.RequiresRASSH() {
		t.Error("RequiresRASSH is false")
	}
}

func TestHostCheckInvalidExtension(t *testing.T) {
	f := newHostCheckFixture(t, "-O", "extension:"+ExtensionName+"=require_ra_ssh")
	_, err := f.checker.Check("web1.fleet.test:22", f.cert)
	if !errors.Is(err, ErrHostKey) || !strings.Contains(err.Error(), "parse "+ExtensionName) {
		t.Fatalf("error %v, expected an extension parse failure", err)
	}
}

func TestHostCheckKRL(t *testing.T) {
	f := newHostCheckFixture(t)
	spec := filepath.Join(f.dir, "spec")
	if err := os.WriteFile(spec, []byte("serial: 40-45\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	krlPath := filepath.Join(f.dir, "krl")
	runTool(t, "ssh-keygen", "-k", "-f", krlPath, "-s", filepath.Join(f.dir, "ca.pub"), spec)
	krl, err := LoadKRL(krlPath)
	if err != nil {
		t.Fatal(err)
	}
	f.checker.KRL = krl
	_, err = f.checker.Check("web1.fleet.test:22", f.cert)
	if !errors.Is(err, ErrHostKeyRevoked) || !strings.Contains(err.Error(), "certificate serial 42") {
		t.Fatalf("error %v, expected serial 42 revoked", err)
	}
}
