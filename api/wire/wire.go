// Package wire holds the JSON request and response bodies of the rassh REST
// API, shared by the server (package api) and its clients (the host agent,
// the admin commands). Byte fields are standard base64, as encoding/json
// writes []byte.
package wire

import (
	"time"

	"github.com/rassh/rassh/verifier"
)

// ChallengeResponse is the body of POST /v1/challenges.
type ChallengeResponse struct {
	Nonce     []byte    `json:"nonce"` // 32 random bytes, single use
	ExpiresAt time.Time `json:"expires_at"`
}

// EnrollmentRequest is the body of POST /v1/enrollments.
type EnrollmentRequest struct {
	Nonce []byte `json:"nonce"`
	// HostKeys are OpenSSH authorized_keys lines of plain public keys.
	HostKeys []string `json:"host_keys"`
	// Principals requested; they must be a subset of what the registration or
	// join token allows. Empty means all that it allows.
	Principals []string `json:"principals,omitempty"`
	// JoinToken is the one-time join token, when the host enrolls with one.
	JoinToken string `json:"join_token,omitempty"`
	// RequireRASSH requests that the CA mark the certificate as requiring ra-ssh.
	RequireRASSH bool              `json:"require_ra_ssh,omitempty"`
	Evidence     verifier.Evidence `json:"evidence"`
	// HostKeySignatures prove that the host holds each private key: entry i
	// is an SSH signature in wire form (string format, string blob) by
	// HostKeys[i] over binding.EnrollProofData of this enrollment's binding
	// value. RSA keys sign with rsa-sha2-256 or rsa-sha2-512.
	HostKeySignatures [][]byte `json:"host_key_signatures,omitempty"`
}

// EnrollmentResponse is the response to a successful enrollment.
type EnrollmentResponse struct {
	HostID string `json:"host_id"`
	// Certificates are OpenSSH certificate lines, one per host key, in the
	// order of EnrollmentRequest.HostKeys.
	Certificates []string  `json:"certificates"`
	Principals   []string  `json:"principals"`
	ValidAfter   time.Time `json:"valid_after"`
	ValidBefore  time.Time `json:"valid_before"`
	// CAKeys are the CA public keys as authorized_keys lines.
	CAKeys []string `json:"ca_keys"`
}

// CAResponse is the body of GET /v1/ca.
type CAResponse struct {
	PublicKeys []string `json:"public_keys"`
	// KnownHosts are lines usable as-is in known_hosts:
	// "@cert-authority <patterns> <key>".
	KnownHosts []string `json:"known_hosts"`
}

// Error is the body of every error response.
type Error struct {
	Error string `json:"error"` // a public message, never the internal cause
	Code  string `json:"code"`  // a stable machine-readable code, for example "challenge_replayed"
}

// AttestRequest is the body of POST /v1/attest, the CA's token service.
type AttestRequest struct {
	Evidence verifier.Evidence `json:"evidence"`
}

// AttestResponse carries the token the CA's token service issued.
type AttestResponse struct {
	Token string `json:"token"`
}
