package ca

import (
	"crypto"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/ca/catest"
)

// TestKRLWithSSHKeygen checks the KRL with OpenSSH's own reader: ssh-keygen
// -Q exits 1 and prints "REVOKED" for a revoked certificate or key, and exits
// 0 with "ok" otherwise.
func TestKRLWithSSHKeygen(t *testing.T) {
	caKey, _ := GenerateKey(KeyEd25519)
	signer, _ := NewSigner(caKey)
	dir := t.TempDir()

	revokedKey, _ := catest.HostKey()
	plainKey, _ := catest.HostKey()
	certKey, _ := catest.HostKey()
	revokedCert := testCert(t, signer, certKey, 1001)
	goodCert := testCert(t, signer, certKey, 1002)
	otherCA, _ := NewSigner(mustKey(t))
	sameSerialOtherCA := testCert(t, otherCA, certKey, 1001)

	krl := &KRL{
		CAKey:   signer.PublicKey(),
		Serials: []uint64{1001, 77, 1001},
		Keys:    []ssh.PublicKey{revokedKey, revokedKey},
		Version: 3,
		Comment: "rassh test",
	}
	krlPath := filepath.Join(dir, "krl")
	if err := os.WriteFile(krlPath, krl.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name    string
		key     ssh.PublicKey
		revoked bool
	}{
		{"revoked serial", revokedCert, true},
		{"other serial", goodCert, false},
		{"serial of another CA", sameSerialOtherCA, false},
		{"revoked key", revokedKey, true},
		{"other key", plainKey, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".pub")
			os.WriteFile(path, ssh.MarshalAuthorizedKey(tc.key), 0o644)
			out, err := exec.Command("ssh-keygen", "-Q", "-f", krlPath, path).CombinedOutput()
			var exit *exec.ExitError
			switch {
			case tc.revoked && (!errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "REVOKED")):
				t.Errorf("ssh-keygen -Q: %v, output %q; want exit 1 and REVOKED", err, out)
			case !tc.revoked && (err != nil || !strings.Contains(string(out), ": ok")):
				t.Errorf("ssh-keygen -Q: %v, output %q; want exit 0 and ok", err, out)
			}
		})
	}
}

func TestKRLEmptyIsValid(t *testing.T) {
	krlPath := filepath.Join(t.TempDir(), "krl")
	os.WriteFile(krlPath, (&KRL{}).Marshal(), 0o644)
	k, _ := catest.HostKey()
	pub := filepath.Join(t.TempDir(), "k.pub")
	os.WriteFile(pub, ssh.MarshalAuthorizedKey(k), 0o644)
	if out, err := exec.Command("ssh-keygen", "-Q", "-f", krlPath, pub).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -Q on empty KRL: %v, %s", err, out)
	}
}

func mustKey(t *testing.T) crypto.Signer {
	k, err := GenerateKey(KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testCert(t *testing.T, signer ssh.Signer, key ssh.PublicKey, serial uint64) *ssh.Certificate {
	t.Helper()
	c := &ssh.Certificate{Key: key, Serial: serial, CertType: ssh.HostCert, ValidPrincipals: []string{"h.example.com"}, ValidBefore: ssh.CertTimeInfinity}
	if err := c.SignCert(rand.Reader, signer); err != nil {
		t.Fatal(err)
	}
	return c
}
