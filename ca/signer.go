package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"

	"golang.org/x/crypto/ssh"
)

// Key types that GenerateKey accepts.
const (
	KeyEd25519   = "ed25519"
	KeyECDSAP256 = "ecdsa-p256"
	KeyECDSAP384 = "ecdsa-p384"
	KeyRSA3072   = "rsa-3072"
	KeyRSA4096   = "rsa-4096"
)

// KeyTypes lists the CA key types GenerateKey accepts.
var KeyTypes = []string{KeyEd25519, KeyECDSAP256, KeyECDSAP384, KeyRSA3072, KeyRSA4096}

// GenerateKey makes a new CA private key of the given type.
func GenerateKey(keyType string) (crypto.Signer, error) {
	switch keyType {
	case KeyEd25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	case KeyECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case KeyECDSAP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case KeyRSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	case KeyRSA4096:
		return rsa.GenerateKey(rand.Reader, 4096)
	}
	return nil, fmt.Errorf("generate CA key: type %q unknown (expected one of %v)", keyType, KeyTypes)
}

// NewSigner wraps a CA private key as an SSH signer. RSA keys sign only with
// rsa-sha2-512, never with SHA-1; RSA keys shorter than 3072 bits are
// rejected.
func NewSigner(key crypto.Signer) (ssh.Signer, error) {
	if rk, ok := key.(*rsa.PrivateKey); ok && rk.N.BitLen() < 3072 {
		return nil, fmt.Errorf("CA key: rsa key has %d bits, at least 3072 required", rk.N.BitLen())
	}
	s, err := ssh.NewSignerFromSigner(key)
	if err != nil {
		return nil, fmt.Errorf("CA key: %w", err)
	}
	if s.PublicKey().Type() != ssh.KeyAlgoRSA {
		return s, nil
	}
	as, ok := s.(ssh.AlgorithmSigner)
	if !ok {
		return nil, fmt.Errorf("CA key: rsa signer cannot choose its algorithm")
	}
	return ssh.NewSignerWithAlgorithms(as, []string{ssh.KeyAlgoRSASHA512})
}
