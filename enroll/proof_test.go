package enroll

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/verifier/binding"
)

func TestEnrollSignsHostKeys(t *testing.T) {
	ca := newTestCA(t)
	_, edPriv := hostKey(t)
	ed, err := ssh.NewSignerFromKey(edPriv)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ssh.NewSignerFromKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnroller(t, ca)
	e.HostKeys = SignerList{ed, rs}
	if _, err := e.Enroll(context.Background()); err != nil {
		t.Fatal(err)
	}

	req := ca.requests[0]
	if len(req.HostKeySignatures) != 2 {
		t.Fatalf("%d host key signatures, want 2", len(req.HostKeySignatures))
	}
	keys := []ssh.PublicKey{ed.PublicKey(), rs.PublicKey()}
	v := binding.Enroll(req.Nonce, [][]byte{keys[0].Marshal(), keys[1].Marshal()}, req.Principals, JoinTokenDigest(req.JoinToken))
	data := binding.EnrollProofData(v)
	for i, want := range []string{ssh.KeyAlgoED25519, ssh.KeyAlgoRSASHA512} {
		var sig ssh.Signature
		if err := ssh.Unmarshal(req.HostKeySignatures[i], &sig); err != nil {
			t.Fatalf("signature %d: %v", i, err)
		}
		if sig.Format != want {
			t.Errorf("signature %d format %s, want %s", i, sig.Format, want)
		}
		if err := keys[i].Verify(data, &sig); err != nil {
			t.Errorf("signature %d does not verify over the enrollment binding: %v", i, err)
		}
	}
}

func TestEnrollPublicKeysSendNoProof(t *testing.T) {
	ca := newTestCA(t)
	k, _ := hostKey(t)
	if _, err := newEnroller(t, ca, k).Enroll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(ca.requests[0].HostKeySignatures); n != 0 {
		t.Errorf("%d host key signatures from public keys only, want 0", n)
	}
}

func TestLoadHostKeysReadsPrivateKeys(t *testing.T) {
	dir := t.TempDir()
	k1, priv1 := hostKey(t)
	k2, priv2 := hostKey(t)
	path1 := filepath.Join(dir, "ssh_host_ed25519_key")
	writePrivateKey(t, path1, priv1)
	os.WriteFile(path1+".pub", ssh.MarshalAuthorizedKey(k1), 0o644)
	path2 := filepath.Join(dir, "other_key")
	writePrivateKey(t, path2, priv2)

	// A .pub path names the key whose private half is the path without .pub.
	loaded, err := LoadHostKeys([]string{path1 + ".pub", path2})
	if err != nil {
		t.Fatal(err)
	}
	signers := loaded.Signers()
	if loaded.SignerError() != nil || len(signers) != 2 {
		t.Fatalf("signers %v, signer error %v", signers, loaded.SignerError())
	}
	for i, want := range []ssh.PublicKey{k1, k2} {
		if !bytes.Equal(signers[i].PublicKey().Marshal(), want.Marshal()) {
			t.Errorf("signer %d belongs to another key", i)
		}
	}

	// A private key that does not match its .pub file gives no signers.
	_, other := hostKey(t)
	writePrivateKey(t, path1, other)
	loaded, err = LoadHostKeys([]string{path1})
	if err != nil {
		t.Fatal(err)
	}
	want := "load host private key " + path1 + ": does not match the public key " + ssh.FingerprintSHA256(k1)
	if loaded.Signers() != nil || loaded.SignerError() == nil || loaded.SignerError().Error() != want {
		t.Errorf("signer error %v, want %s", loaded.SignerError(), want)
	}
}
