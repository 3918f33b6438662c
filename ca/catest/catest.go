// Package catest builds enrollments for tests of the CA: a simulated TD that
// quotes the enrollment binding, and a local verifier and a development
// policy that accept it.
package catest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/api/wire"
	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/binding"
	"github.com/rassh/rassh/verifier/local"
	"github.com/rassh/rassh/verifier/policy"
	"github.com/rassh/rassh/verifier/tdx"
	"github.com/rassh/rassh/verifier/tdx/tdxsim"
)

// TD is a simulated trust domain.
type TD struct {
	Authority *tdxsim.Authority
	Config    tdxsim.TDConfig
}

// NewTD returns a simulated TD whose owner identity (MRCONFIGID) is 48 bytes
// of owner, or none when owner is 0.
func NewTD(sim *tdxsim.Authority, owner byte) *TD {
	td := &TD{Authority: sim}
	if owner != 0 {
		td.Config.MRConfigID = make([]byte, 48)
		for i := range td.Config.MRConfigID {
			td.Config.MRConfigID[i] = owner
		}
	}
	return td
}

// Evidence quotes the enrollment binding of nonce, host keys, principals and
// join token.
func (td *TD) Evidence(nonce []byte, keys []ssh.PublicKey, principals []string, joinToken string) (verifier.Evidence, error) {
	v := binding.Enroll(nonce, Blobs(keys), principals, JoinTokenDigest(joinToken))
	return td.Quote(v)
}

// Quote quotes an arbitrary 64-byte value.
func (td *TD) Quote(v binding.Value) (verifier.Evidence, error) {
	q, err := td.Authority.Quote(v, td.Config)
	if err != nil {
		return verifier.Evidence{}, fmt.Errorf("catest: %w", err)
	}
	return verifier.Evidence{Kind: verifier.EvidenceTDXQuote, Quote: q}, nil
}

// Request returns a complete enrollment request with evidence from td.
func (td *TD) Request(nonce []byte, keys []ssh.PublicKey, principals []string, joinToken string) (*wire.EnrollmentRequest, error) {
	ev, err := td.Evidence(nonce, keys, principals, joinToken)
	if err != nil {
		return nil, err
	}
	req := &wire.EnrollmentRequest{Nonce: nonce, Principals: principals, JoinToken: joinToken, Evidence: ev}
	for _, k := range keys {
		line := ssh.MarshalAuthorizedKey(k)
		req.HostKeys = append(req.HostKeys, string(line[:len(line)-1]))
	}
	return req, nil
}

// SignedRequest returns a complete enrollment request with evidence from td
// and a proof of possession by each signer: the signers' public keys are the
// host keys.
func (td *TD) SignedRequest(nonce []byte, signers []ssh.Signer, principals []string, joinToken string) (*wire.EnrollmentRequest, error) {
	keys := make([]ssh.PublicKey, len(signers))
	for i, s := range signers {
		keys[i] = s.PublicKey()
	}
	req, err := td.Request(nonce, keys, principals, joinToken)
	if err != nil {
		return nil, err
	}
	if err := SignHostKeys(req, signers); err != nil {
		return nil, err
	}
	return req, nil
}

// SignHostKeys sets req.HostKeySignatures to one signature per signer over
// the request's enrollment binding, with rsa-sha2-512 for RSA keys. The
// signers need not match req.HostKeys, so that tests can forge proofs.
func SignHostKeys(req *wire.EnrollmentRequest, signers []ssh.Signer) error {
	var blobs [][]byte
	for _, line := range req.HostKeys {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return fmt.Errorf("catest: %w", err)
		}
		blobs = append(blobs, k.Marshal())
	}
	v := binding.Enroll(req.Nonce, blobs, req.Principals, JoinTokenDigest(req.JoinToken))
	data := binding.EnrollProofData(v)
	req.HostKeySignatures = nil
	for _, s := range signers {
		sig, err := signProof(s, data)
		if err != nil {
			return err
		}
		req.HostKeySignatures = append(req.HostKeySignatures, ssh.Marshal(sig))
	}
	return nil
}

func signProof(s ssh.Signer, data []byte) (*ssh.Signature, error) {
	if as, ok := s.(ssh.AlgorithmSigner); ok && s.PublicKey().Type() == ssh.KeyAlgoRSA {
		return as.SignWithAlgorithm(rand.Reader, data, ssh.KeyAlgoRSASHA512)
	}
	return s.Sign(rand.Reader, data)
}

// Verifier returns the local backend that accepts quotes of sim's TDs,
// verifying at the time now returns.
func Verifier(sim *tdxsim.Authority, now func() time.Time) *local.Backend {
	return &local.Backend{Quotes: &tdx.Verifier{SimulationRoots: sim.RootPool(), Now: now}}
}

// Policy returns a development policy: simulated TDs allowed, no collateral
// required, debug TDs rejected.
func Policy() *policy.Policy {
	return &policy.Policy{AllowSimulated: true}
}

// Blobs returns the SSH wire forms of keys.
func Blobs(keys []ssh.PublicKey) [][]byte {
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i] = k.Marshal()
	}
	return out
}

// JoinTokenDigest mirrors ca.JoinTokenDigest, so that this package does not
// import the package it tests.
func JoinTokenDigest(token string) []byte {
	if token == "" {
		return nil
	}
	return sha256Sum(token)
}

// Identity returns the host identity the CA derives for td on plain TDX:
// hex(MRCONFIGID || MROWNER || MROWNERCONFIG), or "" when all are zero.
func (td *TD) Identity() string {
	if td.Config.MRConfigID == nil {
		return ""
	}
	return hex.EncodeToString(td.Config.MRConfigID) + strings.Repeat("00", 96)
}
