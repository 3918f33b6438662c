package catest

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"

	"golang.org/x/crypto/ssh"
)

// HostKey returns a new Ed25519 host public key and its signer.
func HostKey() (ssh.PublicKey, ssh.Signer) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		panic(err)
	}
	return s.PublicKey(), s
}

func sha256Sum(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}
