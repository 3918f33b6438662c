package ca

import (
	"crypto/rsa"
	"fmt"
	"slices"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/api/wire"
	"github.com/rassh/rassh/verifier"
)

// Request limits.
const (
	NonceSize        = 32
	MaxHostKeys      = 8
	MaxJoinTokenSize = 256
	minRSABits       = 2048
)

// hostKey is a parsed host public key with its SSH wire form.
type hostKey struct {
	key  ssh.PublicKey
	blob []byte
}

// parseRequest checks the shape of an enrollment request and parses its host
// keys, before any store or verifier work.
func parseRequest(req *wire.EnrollmentRequest) ([]hostKey, error) {
	if len(req.Nonce) != NonceSize {
		return nil, fmt.Errorf("nonce is %d bytes, expected %d", len(req.Nonce), NonceSize)
	}
	if len(req.JoinToken) > MaxJoinTokenSize {
		return nil, fmt.Errorf("join token is %d bytes, at most %d allowed", len(req.JoinToken), MaxJoinTokenSize)
	}
	if len(req.Principals) > 0 {
		if err := ValidatePrincipals(req.Principals); err != nil {
			return nil, err
		}
	}
	return parseHostKeys(req.HostKeys)
}

func parseHostKeys(lines []string) ([]hostKey, error) {
	if len(lines) == 0 || len(lines) > MaxHostKeys {
		return nil, fmt.Errorf("%d host keys given, expected 1 to %d", len(lines), MaxHostKeys)
	}
	var keys []hostKey
	for i, line := range lines {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("host key %d: %w", i, err)
		}
		if err := checkHostKey(k); err != nil {
			return nil, fmt.Errorf("host key %d: %w", i, err)
		}
		blob := k.Marshal()
		for _, prev := range keys {
			if slices.Equal(prev.blob, blob) {
				return nil, fmt.Errorf("host key %d: given twice", i)
			}
		}
		keys = append(keys, hostKey{key: k, blob: blob})
	}
	return keys, nil
}

// checkHostKey accepts plain Ed25519, ECDSA and RSA (at least 2048 bits)
// keys, the host key types of current OpenSSH.
func checkHostKey(k ssh.PublicKey) error {
	switch k.Type() {
	case ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521:
		return nil
	case ssh.KeyAlgoRSA:
		ck, ok := k.(ssh.CryptoPublicKey)
		if !ok {
			return fmt.Errorf("rsa key without public parameters")
		}
		if rk, ok := ck.CryptoPublicKey().(*rsa.PublicKey); !ok || rk.N.BitLen() < minRSABits {
			return fmt.Errorf("rsa key shorter than %d bits", minRSABits)
		}
		return nil
	}
	return fmt.Errorf("key type %q not allowed (use ed25519, ecdsa or rsa)", k.Type())
}

// checkEvidenceShape rejects evidence of an unknown kind or out-of-range
// size before the verifier parses it.
func checkEvidenceShape(ev verifier.Evidence) error {
	switch ev.Kind {
	case verifier.EvidenceTDXQuote:
		if len(ev.RuntimeData) != 0 {
			return fmt.Errorf("evidence kind %q carries no runtime data", ev.Kind)
		}
	case verifier.EvidenceAzureTDX:
		if len(ev.RuntimeData) == 0 || len(ev.RuntimeData) > verifier.MaxRuntimeDataSize {
			return fmt.Errorf("runtime data is %d bytes, expected 1 to %d", len(ev.RuntimeData), verifier.MaxRuntimeDataSize)
		}
	default:
		return fmt.Errorf("evidence kind %q unknown (expected %q or %q)", ev.Kind, verifier.EvidenceTDXQuote, verifier.EvidenceAzureTDX)
	}
	if len(ev.Quote) == 0 || len(ev.Quote) > verifier.MaxQuoteSize {
		return fmt.Errorf("quote is %d bytes, expected 1 to %d", len(ev.Quote), verifier.MaxQuoteSize)
	}
	return nil
}
