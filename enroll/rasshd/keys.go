package rasshd

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/internal/boundedfile"
)

// maxPrivateKeyFile bounds a host private key file; an RSA 16384-bit key in
// OpenSSH format is under 13 KiB.
const maxPrivateKeyFile = 64 << 10

// KeyRing holds host private keys in memory for the HostKeyAgent server.
type KeyRing struct {
	keys []hostKey
}

type hostKey struct {
	signer  ssh.AlgorithmSigner
	blob    []byte
	private crypto.PrivateKey
}

// GenerateKey creates a host key of the given type in memory: "ed25519",
// "ecdsa" (P-256) or "rsa" (3072 bits). It is never written to disk.
func (k *KeyRing) GenerateKey(keyType string) (ssh.PublicKey, error) {
	var priv crypto.Signer
	var err error
	switch keyType {
	case "ed25519":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case "ecdsa":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "rsa":
		priv, err = rsa.GenerateKey(rand.Reader, 3072)
	default:
		return nil, fmt.Errorf("generate host key: unknown type %q, expected ed25519, ecdsa or rsa", keyType)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s host key: %w", keyType, err)
	}
	return k.Add(priv)
}

// LoadKeyFile adds the unencrypted OpenSSH or PEM private key at path.
func (k *KeyRing) LoadKeyFile(path string) (ssh.PublicKey, error) {
	data, err := boundedfile.Read(path, maxPrivateKeyFile)
	if err != nil {
		return nil, fmt.Errorf("load host key: %w", err)
	}
	defer clear(data)
	priv, err := ssh.ParseRawPrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("load host key %s: %w", path, err)
	}
	pub, err := k.Add(priv)
	if err != nil {
		return nil, fmt.Errorf("load host key %s: %w", path, err)
	}
	return pub, nil
}

// Add adds a private key (ed25519.PrivateKey, *ecdsa.PrivateKey or
// *rsa.PrivateKey, or a pointer to an ed25519.PrivateKey) and returns its
// public key.
func (k *KeyRing) Add(priv crypto.PrivateKey) (ssh.PublicKey, error) {
	if p, ok := priv.(*ed25519.PrivateKey); ok {
		priv = *p
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, fmt.Errorf("add host key: %w", err)
	}
	as, ok := s.(ssh.AlgorithmSigner)
	if !ok {
		return nil, fmt.Errorf("add host key: %s signer cannot choose algorithms", s.PublicKey().Type())
	}
	blob := s.PublicKey().Marshal()
	if k.find(blob) != nil {
		return nil, fmt.Errorf("add host key: duplicate %s key", s.PublicKey().Type())
	}
	k.keys = append(k.keys, hostKey{signer: as, blob: blob, private: priv})
	return s.PublicKey(), nil
}

// PublicKeys returns the public keys in the order they were added.
func (k *KeyRing) PublicKeys() []ssh.PublicKey {
	out := make([]ssh.PublicKey, len(k.keys))
	for i, hk := range k.keys {
		out[i] = hk.signer.PublicKey()
	}
	return out
}

// Public returns the public keys; it makes a KeyRing usable as the host key
// set of an enrollment.
func (k *KeyRing) Public() []ssh.PublicKey { return k.PublicKeys() }

// Signers returns one signer per key of Public, in the same order, so that an
// enrollment can prove possession of each key. The agent uses them only for
// that proof: the HostKeyAgent socket signs through its own checks.
func (k *KeyRing) Signers() []ssh.Signer {
	out := make([]ssh.Signer, len(k.keys))
	for i, hk := range k.keys {
		out[i] = hk.signer
	}
	return out
}

// Blobs returns the public keys in SSH wire form.
func (k *KeyRing) Blobs() [][]byte {
	out := make([][]byte, len(k.keys))
	for i, hk := range k.keys {
		out[i] = hk.blob
	}
	return out
}

func (k *KeyRing) find(blob []byte) *hostKey {
	for i := range k.keys {
		if bytes.Equal(k.keys[i].blob, blob) {
			return &k.keys[i]
		}
	}
	return nil
}

// sign signs data with the key whose public blob is keyBlob, choosing the RSA
// algorithm from the ssh-agent flags.
func (k *KeyRing) sign(keyBlob, data []byte, flags uint32) (*ssh.Signature, error) {
	hk := k.find(keyBlob)
	if hk == nil {
		return nil, fmt.Errorf("no host key matches the requested key")
	}
	algo := hk.signer.PublicKey().Type()
	if algo == ssh.KeyAlgoRSA {
		switch {
		case flags&agentRSASHA512 != 0:
			algo = ssh.KeyAlgoRSASHA512
		case flags&agentRSASHA256 != 0:
			algo = ssh.KeyAlgoRSASHA256
		}
	}
	return hk.signer.SignWithAlgorithm(rand.Reader, data, algo)
}
