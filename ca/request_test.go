package ca

import (
	"encoding/json"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/api/wire"
	"github.com/rassh/rassh/ca/catest"
)

func TestParseHostKeysRejects(t *testing.T) {
	k, _ := catest.HostKey()
	line := AuthorizedLine(k)
	for _, tc := range []struct {
		name  string
		lines []string
		err   string
	}{
		{"none", nil, "0 host keys given, expected 1 to 8"},
		{"too many", []string{line, line, line, line, line, line, line, line, line}, "9 host keys given, expected 1 to 8"},
		{"twice", []string{line, line}, "host key 1: given twice"},
		{"garbage", []string{"ssh-ed25519 AAAA"}, "host key 0: ssh: no key found; last parsing error for ignored line: ssh: short read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseHostKeys(tc.lines)
			if err == nil || err.Error() != tc.err {
				t.Fatalf("err = %v, want %s", err, tc.err)
			}
		})
	}
}

func TestParseHostKeysRejectsCertificate(t *testing.T) {
	caKey, _ := GenerateKey(KeyEd25519)
	signer, _ := NewSigner(caKey)
	k, _ := catest.HostKey()
	cert := &ssh.Certificate{Key: k, CertType: ssh.HostCert, ValidPrincipals: []string{"h"}, ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(strings.NewReader(strings.Repeat("x", 64)), signer); err != nil {
		t.Fatal(err)
	}
	_, err := parseHostKeys([]string{AuthorizedLine(cert)})
	want := `host key 0: key type "ssh-ed25519-cert-v01@openssh.com" not allowed (use ed25519, ecdsa or rsa)`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

// FuzzParseRequest feeds arbitrary JSON enrollment requests to the checks
// that run before any store or verifier work.
func FuzzParseRequest(f *testing.F) {
	k, _ := catest.HostKey()
	seed, _ := json.Marshal(wire.EnrollmentRequest{
		Nonce:      make([]byte, NonceSize),
		HostKeys:   []string{AuthorizedLine(k), "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg="},
		Principals: []string{"host1.example.com"},
	})
	f.Add(seed)
	f.Fuzz(func(t *testing.T, b []byte) {
		var req wire.EnrollmentRequest
		if json.Unmarshal(b, &req) != nil {
			return
		}
		keys, err := parseRequest(&req)
		if err != nil {
			return
		}
		if len(keys) == 0 || len(keys) > MaxHostKeys {
			t.Fatalf("accepted %d host keys", len(keys))
		}
		for _, k := range keys {
			if _, isCert := k.key.(*ssh.Certificate); isCert {
				t.Fatal("accepted a certificate as host key")
			}
		}
	})
}
