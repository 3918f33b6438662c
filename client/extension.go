package client

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// ExtensionName is the host certificate extension the rassh CA writes. Its
// value has the JSON shape of Extension.
//
// The CA package exports the same name and a stricter parser. This copy keeps
// the client free of the CA's dependencies; extension_test.go checks that
// both read the CA's values alike.
const ExtensionName = "rassh-attestation@rassh"

// MaxExtensionSize bounds the extension's JSON value.
const MaxExtensionSize = 4 << 10

// Extension is the enrollment record that a host certificate carries.
// Anyone who connects can read it, so it carries nothing secret.
type Extension struct {
	Verifier       string `json:"verifier"`
	EvidenceSHA256 string `json:"evidence_sha256"`
	// RequireRASSH makes clients reject the host without an ra-ssh check,
	// whatever their flags set.
	RequireRASSH bool `json:"require_ra_ssh"`
	// Simulated is true when the CA enrolled a simulated TD.
	Simulated bool `json:"simulated,omitempty"`
}

// ParseExtension decodes the extension's value. Unknown fields are ignored so
// the CA can add fields, but the value must be one JSON object.
func ParseExtension(b []byte) (*Extension, error) {
	if len(b) > MaxExtensionSize {
		return nil, fmt.Errorf("parse %s: %d bytes exceeds %d", ExtensionName, len(b), MaxExtensionSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var ext Extension
	if err := dec.Decode(&ext); err != nil {
		return nil, fmt.Errorf("parse %s: %w", ExtensionName, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("parse %s: data after the JSON object", ExtensionName)
	}
	return &ext, nil
}
