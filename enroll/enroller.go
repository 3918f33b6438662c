package enroll

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/api/wire"
	"github.com/rassh/rassh/verifier/binding"
)

// Enroller runs one enrollment: challenge, binding, evidence, request, and
// the check of every certificate the CA returns.
type Enroller struct {
	CA       *Client
	Provider Provider
	HostKeys HostKeys
	// CAKeys are the trusted SSH CA keys. Certificates signed by any other
	// key are rejected.
	CAKeys []ssh.PublicKey
	// Principals to request. Empty lets the CA grant all that the host's
	// registration or join token allows.
	Principals []string
	// JoinToken is the one-time join token; empty enrolls without one.
	JoinToken string
	// RequireRASSH requests that the CA mark the certificates as requiring ra-ssh.
	RequireRASSH bool
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Enrollment is a CA response whose certificates passed the agent's checks.
type Enrollment struct {
	HostID string
	// Certificates hold one certificate per host key, in the order of
	// HostKeys.Public().
	Certificates []*ssh.Certificate
	// ReceivedAt is when the agent received the certificates; renewal is
	// scheduled from it.
	ReceivedAt time.Time
}

// ValidBefore returns the earliest expiry among the certificates.
func (e *Enrollment) ValidBefore() time.Time {
	var first time.Time
	for i, cert := range e.Certificates {
		t := certTime(cert.ValidBefore)
		if i == 0 || t.Before(first) {
			first = t
		}
	}
	return first
}

func (e *Enroller) now() time.Time {
	if e.Now == nil {
		return time.Now()
	}
	return e.Now()
}

// Enroll enrolls the host keys once and returns the checked certificates.
func (e *Enroller) Enroll(ctx context.Context) (*Enrollment, error) {
	keys := e.HostKeys.Public()
	if len(keys) == 0 {
		return nil, fmt.Errorf("enroll: no host keys")
	}
	challenge, err := e.CA.Challenge(ctx)
	if err != nil {
		return nil, err
	}

	// Bind the nonce, keys, principals and join token into the evidence.
	blobs := make([][]byte, len(keys))
	lines := make([]string, len(keys))
	for i, key := range keys {
		blobs[i] = key.Marshal()
		lines[i] = string(ssh.MarshalAuthorizedKey(key))
	}
	value := binding.Enroll(challenge.Nonce, blobs, e.Principals, JoinTokenDigest(e.JoinToken))
	evidence, err := e.Provider.Evidence(ctx, value)
	if err != nil {
		return nil, fmt.Errorf("enroll: get evidence: %w", err)
	}
	signatures, err := e.proveHostKeys(keys, value)
	if err != nil {
		return nil, err
	}

	resp, err := e.CA.Enroll(ctx, &wire.EnrollmentRequest{
		Nonce:             challenge.Nonce,
		HostKeys:          lines,
		Principals:        e.Principals,
		JoinToken:         e.JoinToken,
		RequireRASSH:      e.RequireRASSH,
		Evidence:          evidence,
		HostKeySignatures: signatures,
	})
	if err != nil {
		return nil, e.explainMissingProof(err)
	}
	return e.checkResponse(resp, keys)
}

// proveHostKeys signs binding.EnrollProofData(value) with each host key, when
// the host keys include their private keys, and returns the signatures in
// SSH wire form. It returns nil when they do not.
func (e *Enroller) proveHostKeys(keys []ssh.PublicKey, value binding.Value) ([][]byte, error) {
	withSigners, ok := e.HostKeys.(HostKeySigners)
	if !ok {
		return nil, nil
	}
	signers := withSigners.Signers()
	if signers == nil {
		return nil, nil
	}
	if len(signers) != len(keys) {
		return nil, fmt.Errorf("enroll: %d host key signers for %d host keys", len(signers), len(keys))
	}
	data := binding.EnrollProofData(value)
	out := make([][]byte, len(keys))
	for i, signer := range signers {
		if !bytes.Equal(signer.PublicKey().Marshal(), keys[i].Marshal()) {
			return nil, fmt.Errorf("enroll: host key signer %d does not match host key %s", i, ssh.FingerprintSHA256(keys[i]))
		}
		sig, err := signProof(signer, data)
		if err != nil {
			return nil, fmt.Errorf("enroll: sign proof of possession with host key %s: %w", ssh.FingerprintSHA256(keys[i]), err)
		}
		out[i] = ssh.Marshal(sig)
	}
	return out, nil
}

// signProof signs with the key's own algorithm, and RSA keys with
// rsa-sha2-512, because the CA rejects SHA-1 ssh-rsa signatures.
func signProof(signer ssh.Signer, data []byte) (*ssh.Signature, error) {
	if signer.PublicKey().Type() != ssh.KeyAlgoRSA {
		return signer.Sign(rand.Reader, data)
	}
	as, ok := signer.(ssh.AlgorithmSigner)
	if !ok {
		return nil, fmt.Errorf("rsa signer cannot sign with rsa-sha2-512")
	}
	return as.SignWithAlgorithm(rand.Reader, data, ssh.KeyAlgoRSASHA512)
}

// explainMissingProof adds to a host_key_proof_missing rejection why the
// agent had no private keys to sign with, when the host keys say.
func (e *Enroller) explainMissingProof(err error) error {
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "host_key_proof_missing" {
		return err
	}
	if withErr, ok := e.HostKeys.(interface{ SignerError() error }); ok && withErr.SignerError() != nil {
		return fmt.Errorf("%w (the agent has no private host keys to sign with: %v)", err, withErr.SignerError())
	}
	return err
}

func (e *Enroller) checkResponse(resp *wire.EnrollmentResponse, keys []ssh.PublicKey) (*Enrollment, error) {
	if len(resp.Certificates) != len(keys) {
		return nil, fmt.Errorf("enroll: CA returned %d certificates for %d host keys", len(resp.Certificates), len(keys))
	}
	// Without requested principals, each certificate must carry exactly
	// those the CA says it granted.
	principals := e.Principals
	if len(principals) == 0 {
		principals = resp.Principals
	}
	now := e.now()
	certs := make([]*ssh.Certificate, len(keys))
	for i, line := range resp.Certificates {
		cert, err := ParseCertificate([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("enroll: %w", err)
		}
		check := CertCheck{HostKey: keys[i], CAKeys: e.CAKeys, Principals: principals, Now: now}
		if err := CheckCertificate(cert, check); err != nil {
			return nil, fmt.Errorf("enroll: %w", err)
		}
		certs[i] = cert
	}
	return &Enrollment{HostID: resp.HostID, Certificates: certs, ReceivedAt: now}, nil
}

// ParseCertificate parses one OpenSSH certificate line.
func ParseCertificate(line []byte) (*ssh.Certificate, error) {
	key, _, _, _, err := ssh.ParseAuthorizedKey(line)
	if err != nil {
		return nil, fmt.Errorf("parse certificate: %w", err)
	}
	cert, ok := key.(*ssh.Certificate)
	if !ok {
		return nil, fmt.Errorf("parse certificate: got a plain %s key, expected a certificate", key.Type())
	}
	return cert, nil
}
