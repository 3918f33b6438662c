package client

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"
)

// These helpers make keys, certificates and KRLs with the real ssh-keygen,
// so the parsers are tested on what OpenSSH writes.

func runTool(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}

// keygen makes an Ed25519 key pair at dir/name and returns its public key.
func keygen(t testing.TB, dir, name string) ssh.PublicKey {
	t.Helper()
	path := filepath.Join(dir, name)
	runTool(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path)
	return readPublicKey(t, path+".pub")
}

func readPublicKey(t testing.TB, path string) ssh.PublicKey {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	key, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return key
}

// signHostCert signs dir/host.pub with dir/ca and returns the certificate.
// extra are further ssh-keygen options, for example "-O", "extension:...".
func signHostCert(t testing.TB, dir, ca, host, keyID, principals, validity, serial string, extra ...string) *ssh.Certificate {
	t.Helper()
	args := []string{"-q", "-s", filepath.Join(dir, ca), "-h", "-I", keyID, "-n", principals, "-V", validity, "-z", serial}
	args = append(args, extra...)
	args = append(args, filepath.Join(dir, host+".pub"))
	runTool(t, "ssh-keygen", args...)
	return readPublicKey(t, filepath.Join(dir, host+"-cert.pub")).(*ssh.Certificate)
}
