package client

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// krlFixture is a KRL written by the real ssh-keygen -k from a spec that uses
// every section ssh-keygen writes: serial lists, ranges and bitmaps, key IDs,
// explicit keys and SHA-1 and SHA-256 hashes.
type krlFixture struct {
	dir                        string
	ca, otherCA                ssh.PublicKey
	explicit, bySHA1, bySHA256 ssh.PublicKey
	host                       ssh.PublicKey
	krl                        *KRL
}

func newKRLFixture(t *testing.T) *krlFixture {
	t.Helper()
	dir := t.TempDir()
	f := &krlFixture{dir: dir, ca: keygen(t, dir, "ca"), otherCA: keygen(t, dir, "other-ca"),
		explicit: keygen(t, dir, "explicit"), bySHA1: keygen(t, dir, "by-sha1"), bySHA256: keygen(t, dir, "by-sha256"),
		host: keygen(t, dir, "host")}

	var spec strings.Builder
	spec.WriteString("serial: 5\nserial: 10-20\nid: revoked-id\n")
	// Scattered serials make ssh-keygen choose a bitmap.
	for _, s := range []int{100, 102, 105, 107, 110, 113, 115, 116, 117, 119, 121} {
		fmt.Fprintf(&spec, "serial: %d\n", s)
	}
	fmt.Fprintf(&spec, "key: %s", ssh.MarshalAuthorizedKey(f.explicit))
	fmt.Fprintf(&spec, "sha1: %s", ssh.MarshalAuthorizedKey(f.bySHA1))
	fmt.Fprintf(&spec, "hash: %s\n", ssh.FingerprintSHA256(f.bySHA256))
	specPath := filepath.Join(dir, "spec")
	if err := os.WriteFile(specPath, []byte(spec.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	krlPath := filepath.Join(dir, "krl")
	runTool(t, "ssh-keygen", "-k", "-f", krlPath, "-s", filepath.Join(dir, "ca.pub"), specPath)

	var err error
	if f.krl, err = LoadKRL(krlPath); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *krlFixture) cert(t *testing.T, ca, keyID, serial string) *ssh.Certificate {
	return signHostCert(t, f.dir, ca, "host", keyID, "h", "always:forever", serial)
}

func TestKRLCertificateSerials(t *testing.T) {
	f := newKRLFixture(t)
	cases := map[string]string{
		"4": "", "5": "certificate serial 5", "9": "", "10": "certificate serial 10", "20": "certificate serial 20",
		"21": "", "99": "", "100": "certificate serial 100", "101": "", "116": "certificate serial 116",
		"121": "certificate serial 121", "122": "",
	}
	for serial, want := range cases {
		if got := f.krl.Revoked(f.cert(t, "ca", "some-id", serial)); got != want {
			t.Errorf("serial %s: revoked %q, expected %q", serial, got, want)
		}
	}
}

func TestKRLSerialsScopedToCA(t *testing.T) {
	f := newKRLFixture(t)
	if got := f.krl.Revoked(f.cert(t, "other-ca", "some-id", "5")); got != "" {
		t.Errorf("serial 5 of another CA revoked: %q", got)
	}
}

func TestKRLKeyID(t *testing.T) {
	f := newKRLFixture(t)
	if got := f.krl.Revoked(f.cert(t, "ca", "revoked-id", "1000")); got != `certificate key ID "revoked-id"` {
		t.Errorf("revoked %q, expected the key ID", got)
	}
}

func TestKRLPlainKeys(t *testing.T) {
	f := newKRLFixture(t)
	for name, key := range map[string]ssh.PublicKey{"explicit": f.explicit, "sha1": f.bySHA1, "sha256": f.bySHA256} {
		want := "key " + ssh.FingerprintSHA256(key)
		if got := f.krl.Revoked(key); got != want {
			t.Errorf("%s: revoked %q, expected %q", name, got, want)
		}
	}
	if got := f.krl.Revoked(f.host); got != "" {
		t.Errorf("unlisted key revoked: %q", got)
	}
}

func TestKRLCertifiedKeyRevoked(t *testing.T) {
	f := newKRLFixture(t)
	cert := signHostCert(t, f.dir, "ca", "explicit", "fine-id", "h", "always:forever", "7")
	if got, want := f.krl.Revoked(cert), "certified key "+ssh.FingerprintSHA256(f.explicit); got != want {
		t.Errorf("revoked %q, expected %q", got, want)
	}
}

func TestKRLMalformed(t *testing.T) {
	f := newKRLFixture(t)
	data, err := os.ReadFile(filepath.Join(f.dir, "krl"))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"empty":           nil,
		"bad magic":       append([]byte("SSHKRX\n\x00"), data[8:]...),
		"truncated":       data[:len(data)-3],
		"unknown section": append(append([]byte{}, data...), 9, 0, 0, 0, 0),
	}
	for name, b := range cases {
		if _, err := ParseKRL(b); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
	if _, err := ParseKRL(data); err != nil {
		t.Errorf("original: %v", err)
	}
}

func FuzzParseKRL(f *testing.F) {
	seed, err := os.ReadFile("testdata/krl/ssh-keygen.krl")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	key := fuzzLookupKey(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		krl, err := ParseKRL(data)
		if err != nil {
			return
		}
		krl.Revoked(key)
	})
}

// fuzzLookupKey returns a fixed certificate to look up in fuzzed KRLs and
// known_hosts files.
func fuzzLookupKey(f *testing.F) *ssh.Certificate {
	data, err := os.ReadFile("testdata/krl/ca.pub")
	if err != nil {
		f.Fatal(err)
	}
	ca, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		f.Fatal(err)
	}
	return &ssh.Certificate{Key: ca, SignatureKey: ca, Serial: 5, KeyId: "revoked-id", CertType: ssh.HostCert}
}
