package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/ca/catest"
	"github.com/rassh/rassh/enroll"
)

// TestServeRequiresHostKeyProof enrolls through a running CA with its
// default configuration: the agent's Enroller signs with the host keys it
// holds, and one that holds only public keys is rejected.
func TestServeRequiresHostKeyProof(t *testing.T) {
	c := initTestCA(t)
	c.start()
	td := catest.NewTD(c.sim, 0x42)
	c.admin("registration", "create", "--identity", td.Identity(), "--principals", "web1.example.com")

	client := &enroll.Client{BaseURL: c.url, HTTPClient: c.pinnedClient()}
	caKeys, err := client.CAKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, ed := catest.HostKey()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ssh.NewSignerFromKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}

	signed := &enroll.Enroller{CA: client, Provider: tdProvider{td}, HostKeys: enroll.SignerList{ed, rs}, CAKeys: caKeys}
	got, err := signed.Enroll(context.Background())
	if err != nil {
		t.Fatalf("enroll with proofs: %v", err)
	}
	if len(got.Certificates) != 2 {
		t.Errorf("%d certificates, want 2", len(got.Certificates))
	}

	unsigned := &enroll.Enroller{CA: client, Provider: tdProvider{td}, HostKeys: enroll.KeyList{ed.PublicKey()}, CAKeys: caKeys}
	_, err = unsigned.Enroll(context.Background())
	var apiErr *enroll.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 400 || apiErr.Code != "host_key_proof_missing" {
		t.Fatalf("enroll without proofs: err = %v, want 400 host_key_proof_missing", err)
	}
	if !strings.Contains(c.admin("audit"), `"code": "host_key_proof_missing"`) {
		t.Errorf("audit log lacks the rejection:\n%s", c.admin("audit"))
	}
}

func TestAdminRevokeIdentityWithoutCertificates(t *testing.T) {
	c := initTestCA(t)
	c.start()
	identity := "5e8b4a3e-1111-2222-3333-444455556666"
	c.admin("registration", "create", "--identity", identity, "--principals", "web1.example.com")

	cmd := exec.Command(rasshCA, "admin", "revoke", "--identity", identity, "--ca", c.url,
		"--admin-token-file", filepath.Join(c.dir, adminTokenFile), "--ca-fingerprint", c.fingerprint)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("revoke: %v\n%s", err, stderr.String())
	}
	want := "rassh-ca admin revoke: identity " + identity + " had no certificates or keys to revoke; it may not enroll until its registration is created again\n"
	if stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
	if strings.TrimSpace(string(out)) != "{}" {
		t.Errorf("stdout %q, want {}", out)
	}
}
