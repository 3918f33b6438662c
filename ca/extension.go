package ca

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
)

// ExtensionName is the certificate extension that carries Extension as JSON.
// Anyone who connects to the host can read it.
const ExtensionName = "rassh-attestation@rassh"

// maxExtensionSize bounds the extension value ParseExtension reads.
const maxExtensionSize = 1024

// Extension is the attestation summary in a host certificate: only the
// verifier's name, a digest of the evidence, whether the host requires
// ra-ssh, and whether the TD was simulated.
type Extension struct {
	Verifier string `json:"verifier"` // verifier.VerifierLocal or verifier.VerifierMAA
	// EvidenceSHA256 is SHA-256 over the quote followed by the runtime data,
	// in lower-case hex.
	EvidenceSHA256 string `json:"evidence_sha256"`
	// RequireRASSH makes clients reject the host unless ra-ssh succeeds.
	RequireRASSH bool `json:"require_ra_ssh"`
	// Simulated is true when the evidence came from a simulated TD, which only
	// development and test configurations accept.
	Simulated bool `json:"simulated,omitempty"`
}

// Marshal returns the JSON value stored in the certificate.
func (e Extension) Marshal() string {
	b, _ := json.Marshal(e) // a struct of strings and bools always marshals
	return string(b)
}

// ParseExtension parses the value of the ExtensionName extension. It rejects
// values over 1 KiB, unknown fields, trailing data, an empty verifier and a
// digest that is not 64 lower-case hex digits.
func ParseExtension(b []byte) (*Extension, error) {
	if len(b) > maxExtensionSize {
		return nil, fmt.Errorf("parse %s: value is %d bytes, at most %d allowed", ExtensionName, len(b), maxExtensionSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var e Extension
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("parse %s: %w", ExtensionName, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("parse %s: trailing data after the JSON object", ExtensionName)
	}
	if e.Verifier == "" {
		return nil, fmt.Errorf("parse %s: verifier missing", ExtensionName)
	}
	if d, err := hex.DecodeString(e.EvidenceSHA256); err != nil || len(d) != 32 || hex.EncodeToString(d) != e.EvidenceSHA256 {
		return nil, fmt.Errorf("parse %s: evidence_sha256 %q is not 64 lower-case hex digits", ExtensionName, e.EvidenceSHA256)
	}
	return &e, nil
}
