package ca

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/api/wire"
	"github.com/rassh/rassh/ca/catest"
	"github.com/rassh/rassh/store"
	"github.com/rassh/rassh/verifier/binding"
)

func newProofHarness(t *testing.T) *harness {
	h := newHarness(t)
	h.auth.RequireHostKeyProof = true
	return h
}

func (h *harness) signedRequest(td *catest.TD, signers []ssh.Signer) *wire.EnrollmentRequest {
	h.t.Helper()
	req, err := td.SignedRequest(h.challenge(), signers, nil, "")
	if err != nil {
		h.t.Fatal(err)
	}
	return req
}

func wantEnrollError(t *testing.T, err error, kind Kind, code, message string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *Error %s", err, code)
	}
	if e.Kind != kind || e.Code != code {
		t.Errorf("kind %d code %s, want %d %s (%v)", e.Kind, e.Code, kind, code, e)
	}
	if e.Message != message {
		t.Errorf("message %q, want %q", e.Message, message)
	}
}

func TestEnrollHostKeyProofAccepted(t *testing.T) {
	h := newProofHarness(t)
	td := catest.NewTD(h.sim, 0x11)
	h.register(td.Identity(), "host1.example.com")
	_, ed := catest.HostKey()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ssh.NewSignerFromKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.enroll(h.signedRequest(td, []ssh.Signer{ed, rs}))
	if err != nil {
		t.Fatalf("enroll with proofs: %v", err)
	}
	if len(res.Response.Certificates) != 2 {
		t.Errorf("%d certificates, want 2", len(res.Response.Certificates))
	}
}

func TestEnrollHostKeyProofMissing(t *testing.T) {
	h := newProofHarness(t)
	td := catest.NewTD(h.sim, 0x11)
	h.register(td.Identity(), "host1.example.com")
	k, _ := catest.HostKey()
	req := h.request(td, []ssh.PublicKey{k}, nil, "")

	_, err := h.enroll(req)
	wantEnrollError(t, err, KindInvalid, CodeHostKeyProofMissing,
		"host key proof missing: sign the enrollment binding with each host key (host_key_signatures); update the agent")
	if ev := h.lastEvent(); ev.Outcome != store.OutcomeRejected || ev.Code != CodeHostKeyProofMissing {
		t.Errorf("audit event %+v", ev)
	}

	// A request without proofs burns no nonce, so the same one still works.
	_, signer := catest.HostKey()
	req, _ = td.SignedRequest(req.Nonce, []ssh.Signer{signer}, nil, "")
	if _, err := h.enroll(req); err != nil {
		t.Errorf("enroll with proofs over the same nonce: %v", err)
	}
}

func TestEnrollHostKeyProofCountMismatch(t *testing.T) {
	h := newProofHarness(t)
	td := catest.NewTD(h.sim, 0x11)
	h.register(td.Identity(), "host1.example.com")
	_, s1 := catest.HostKey()
	_, s2 := catest.HostKey()
	req := h.signedRequest(td, []ssh.Signer{s1, s2})
	req.HostKeySignatures = req.HostKeySignatures[:1]

	_, err := h.enroll(req)
	wantEnrollError(t, err, KindInvalid, CodeHostKeyProofMissing, "host key proof missing: 1 host key signatures for 2 host keys")
}

// TestEnrollAnotherHostsKeyRejected is the attack the proof stops: host B
// attests its own identity but lists host A's public key, whose private key
// it does not hold, to get certificates for A's key.
func TestEnrollAnotherHostsKeyRejected(t *testing.T) {
	h := newProofHarness(t)
	tdA := catest.NewTD(h.sim, 0x11)
	tdB := catest.NewTD(h.sim, 0x22)
	h.register(tdA.Identity(), "a.example.com")
	h.register(tdB.Identity(), "b.example.com")
	keyA, signerA := catest.HostKey()
	if _, err := h.enroll(h.signedRequest(tdA, []ssh.Signer{signerA})); err != nil {
		t.Fatalf("enroll A: %v", err)
	}

	// B quotes a binding over A's key and signs with a key of its own.
	_, signerB := catest.HostKey()
	req := h.request(tdB, []ssh.PublicKey{keyA}, nil, "")
	if err := catest.SignHostKeys(req, []ssh.Signer{signerB}); err != nil {
		t.Fatal(err)
	}
	_, err := h.enroll(req)
	want := "host key proof invalid: signature 0 is not a valid signature of host key " + ssh.FingerprintSHA256(keyA) + " over the enrollment binding"
	wantEnrollError(t, err, KindForbidden, CodeHostKeyProofInvalid, want)
	ev := h.lastEvent()
	if ev.Outcome != store.OutcomeRejected || ev.Code != CodeHostKeyProofInvalid || !strings.Contains(ev.Reason, ssh.FingerprintSHA256(keyA)) {
		t.Errorf("audit event %+v", ev)
	}
	if hosts, _ := h.store.Hosts(); len(hosts) != 1 {
		t.Errorf("%d host records, want only A's", len(hosts))
	}
}

func TestEnrollHostKeyProofOverOtherBinding(t *testing.T) {
	h := newProofHarness(t)
	td := catest.NewTD(h.sim, 0x11)
	h.register(td.Identity(), "host1.example.com")
	_, signer := catest.HostKey()
	req := h.signedRequest(td, []ssh.Signer{signer})

	// A signature from an earlier enrollment (another nonce) must not count.
	old := h.signedRequest(td, []ssh.Signer{signer})
	req.HostKeySignatures = old.HostKeySignatures
	_, err := h.enroll(req)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeHostKeyProofInvalid {
		t.Fatalf("proof over another nonce: err = %v", err)
	}
}

func TestEnrollHostKeyProofRejectsSHA1RSA(t *testing.T) {
	h := newProofHarness(t)
	td := catest.NewTD(h.sim, 0x11)
	h.register(td.Identity(), "host1.example.com")
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	signer, _ := ssh.NewSignerFromKey(rsaKey)
	req := h.request(td, []ssh.PublicKey{signer.PublicKey()}, nil, "")

	v := EnrollBinding(req.Nonce, [][]byte{signer.PublicKey().Marshal()}, nil, "")
	sig, err := signer.(ssh.AlgorithmSigner).SignWithAlgorithm(rand.Reader, binding.EnrollProofData(v), ssh.KeyAlgoRSA)
	if err != nil {
		t.Fatal(err)
	}
	req.HostKeySignatures = [][]byte{ssh.Marshal(sig)}
	_, err = h.enroll(req)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeHostKeyProofInvalid || !strings.Contains(e.Err.Error(), `signature format "ssh-rsa" not allowed for a ssh-rsa key`) {
		t.Fatalf("SHA-1 RSA proof: err = %v", err)
	}
}

func TestEnrollHostKeyProofCheckedWhenOptional(t *testing.T) {
	h := newHarness(t)
	td := catest.NewTD(h.sim, 0x11)
	h.register(td.Identity(), "host1.example.com")
	k, _ := catest.HostKey()
	if _, err := h.enroll(h.request(td, []ssh.PublicKey{k}, nil, "")); err != nil {
		t.Fatalf("enroll without proofs while optional: %v", err)
	}
	_, other := catest.HostKey()
	req := h.request(td, []ssh.PublicKey{k}, nil, "")
	catest.SignHostKeys(req, []ssh.Signer{other})
	_, err := h.enroll(req)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeHostKeyProofInvalid {
		t.Fatalf("wrong proof while optional: err = %v", err)
	}
}

func TestParseSignatureMalformed(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "malformed signature: truncated format"},
		{"format length beyond input", []byte{0, 0, 0, 9, 'a'}, "malformed signature: truncated format"},
		{"no blob", ssh.Marshal(struct{ F string }{"ssh-ed25519"}), "malformed signature: truncated blob"},
		{"trailing bytes", append(ssh.Marshal(&ssh.Signature{Format: "ssh-ed25519", Blob: []byte{1}}), 0), "malformed signature: 1 bytes after the blob"},
	} {
		if _, err := parseSignature(c.in); err == nil || err.Error() != c.want {
			t.Errorf("%s: err = %v, want %s", c.name, err, c.want)
		}
	}
}

func FuzzParseSignature(f *testing.F) {
	_, signer := catest.HostKey()
	sig, _ := signer.Sign(rand.Reader, []byte("seed"))
	f.Add(ssh.Marshal(sig))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		sig, err := parseSignature(b)
		if err == nil && !bytes.Equal(ssh.Marshal(sig), b) {
			t.Fatalf("parsed %x but it re-encodes to %x", b, ssh.Marshal(sig))
		}
	})
}
