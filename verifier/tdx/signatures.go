package tdx

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"math/big"

	"github.com/rassh/rassh/verifier"
)

// Check names of the quote's signature chain, in the order they run.
const (
	checkQuoteSignature     = "quote signature"
	checkQESignature        = "qe report signature"
	checkAttestationKeyHash = "attestation key hash"
)

// verifySignatures checks, in go-tdx-guest's order, the quote signature with
// the attestation key, the QE report signature with the PCK key, and that the
// QE report data commits to the attestation key and the QE authentication
// data. The PCK chain must have been verified before.
func (q *quote) verifySignatures(pck *ecdsa.PublicKey) error {
	attestKey, err := p256Key(q.attestKey)
	if err != nil {
		return verifier.Reject(checkQuoteSignature, "attestation key in the quote is invalid: %v", err)
	}
	if !verifyRS(attestKey, q.signed, q.signature) {
		return verifier.Reject(checkQuoteSignature, "quote signature does not verify with the attestation key")
	}
	if !verifyRS(pck, q.qeReport, q.qeSignature) {
		return verifier.Reject(checkQESignature, "QE report signature does not verify with the PCK certificate key")
	}
	if !q.attestKeyHashMatches() {
		return verifier.Reject(checkAttestationKeyHash, "QE report data is not SHA-256 of the attestation key and QE authentication data")
	}
	return nil
}

// attestKeyHashMatches reports whether QE report data is
// SHA-256(attestation key || QE authentication data) followed by 32 zero bytes.
func (q *quote) attestKeyHashMatches() bool {
	h := sha256.New()
	h.Write(q.attestKey)
	h.Write(q.qeAuthData)
	want := append(h.Sum(nil), make([]byte, 32)...)
	return bytes.Equal(q.qeReport[qeReportDataOffset:qeReportDataOffset+64], want)
}

// p256Key decodes a raw X||Y P-256 public key.
func p256Key(raw []byte) (*ecdsa.PublicKey, error) {
	uncompressed := append([]byte{4}, raw...)
	return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), uncompressed)
}

// verifyRS verifies a raw r||s ECDSA P-256 signature over SHA-256(msg).
func verifyRS(key *ecdsa.PublicKey, msg, sig []byte) bool {
	digest := sha256.Sum256(msg)
	r := new(big.Int).SetBytes(sig[:32])
	s := new(big.Int).SetBytes(sig[32:])
	return ecdsa.Verify(key, digest[:], r, s)
}
