package enroll

import (
	"context"
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

// Enrollment is a checked answer of the CA.
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

	resp, err := e.CA.Enroll(ctx, &wire.EnrollmentRequest{
		Nonce:        challenge.Nonce,
		HostKeys:     lines,
		Principals:   e.Principals,
		JoinToken:    e.JoinToken,
		RequireRASSH: e.RequireRASSH,
		Evidence:     evidence,
	})
	if err != nil {
		return nil, err
	}
	return e.checkResponse(resp, keys)
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
