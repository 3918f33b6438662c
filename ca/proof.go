package ca

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/api/wire"
	"github.com/rassh/rassh/verifier/binding"
)

// maxHostKeySignatureSize bounds one signature of host_key_signatures. An
// RSA 16384-bit signature in SSH wire form is under 2100 bytes.
const maxHostKeySignatureSize = 4096

// checkHostKeyShape checks the count and size of the host key signatures,
// before the nonce is burned. No signatures at all passes when the authority
// does not require them.
func (a *Authority) checkHostKeyShape(req *wire.EnrollmentRequest, keys []hostKey) error {
	sigs := req.HostKeySignatures
	if len(sigs) == 0 {
		if !a.RequireHostKeyProof {
			return nil
		}
		err := errors.New("request carries no host_key_signatures")
		return invalid(CodeHostKeyProofMissing, "host key proof missing: sign the enrollment binding with each host key (host_key_signatures); update the agent", err)
	}
	if len(sigs) != len(keys) {
		msg := fmt.Sprintf("host key proof missing: %d host key signatures for %d host keys", len(sigs), len(keys))
		return invalid(CodeHostKeyProofMissing, msg, errors.New(msg))
	}
	for i, sig := range sigs {
		if len(sig) > maxHostKeySignatureSize {
			msg := fmt.Sprintf("host key signature %d is %d bytes, at most %d allowed", i, len(sig), maxHostKeySignatureSize)
			return invalid(CodeInvalidRequest, "invalid enrollment request: "+msg, errors.New(msg))
		}
	}
	return nil
}

// checkHostKeyProof verifies that signature i of the request was made by host
// key i over binding.EnrollProofData(v), so that a host cannot enroll a
// public key whose private key it does not hold.
func checkHostKeyProof(sigs [][]byte, keys []hostKey, v binding.Value) error {
	if len(sigs) == 0 {
		return nil
	}
	data := binding.EnrollProofData(v)
	for i, k := range keys {
		err := verifyHostKeySignature(k.key, sigs[i], data)
		if err != nil {
			fp := ssh.FingerprintSHA256(k.key)
			cause := fmt.Errorf("host key %d (%s): %w", i, fp, err)
			msg := fmt.Sprintf("host key proof invalid: signature %d is not a valid signature of host key %s over the enrollment binding", i, fp)
			return forbidden(CodeHostKeyProofInvalid, msg, cause)
		}
	}
	return nil
}

func verifyHostKeySignature(key ssh.PublicKey, raw, data []byte) error {
	sig, err := parseSignature(raw)
	if err != nil {
		return err
	}
	if !signatureFormatAllowed(key.Type(), sig.Format) {
		return fmt.Errorf("signature format %q not allowed for a %s key", sig.Format, key.Type())
	}
	return key.Verify(data, sig)
}

// signatureFormatAllowed accepts the key's own algorithm, and for RSA only
// the SHA-2 algorithms, never ssh-rsa with SHA-1.
func signatureFormatAllowed(keyType, format string) bool {
	if keyType == ssh.KeyAlgoRSA {
		return format == ssh.KeyAlgoRSASHA256 || format == ssh.KeyAlgoRSASHA512
	}
	return format == keyType
}

// parseSignature parses an SSH signature in wire form: string format, string
// blob, and nothing after them.
func parseSignature(b []byte) (*ssh.Signature, error) {
	format, rest, ok := parseWireString(b)
	if !ok {
		return nil, errors.New("malformed signature: truncated format")
	}
	blob, rest, ok := parseWireString(rest)
	if !ok {
		return nil, errors.New("malformed signature: truncated blob")
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("malformed signature: %d bytes after the blob", len(rest))
	}
	return &ssh.Signature{Format: string(format), Blob: blob}, nil
}

func parseWireString(b []byte) (s, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return nil, nil, false
	}
	return b[4 : 4+n], b[4+n:], true
}
