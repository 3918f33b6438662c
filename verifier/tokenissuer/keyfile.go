package tokenissuer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
)

// maxKeyFileSize bounds the key file read; a P-256 PKCS#8 PEM is 241 bytes.
const maxKeyFileSize = 16 << 10

// Generate creates a new P-256 signing key, writes it to path as a PKCS#8
// PEM file with mode 0600 (failing if path exists), and returns an issuer
// using it.
func Generate(path, issuerURL string) (*Issuer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("token issuer: generate key: %w", err)
	}
	issuer, err := New(key, issuerURL)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("token issuer: encode key: %w", err)
	}
	if err := writeNewFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		return nil, fmt.Errorf("token issuer: write key %s: %w", path, err)
	}
	return issuer, nil
}

func writeNewFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

// Load reads the signing key that Generate wrote and returns an issuer
// using it. The file must be readable by its owner only (mode 0600 or
// 0400), and must hold an ECDSA P-256 key in PKCS#8 PEM.
func Load(path, issuerURL string) (*Issuer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("token issuer: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("token issuer: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("token issuer: key file %s has mode %04o; run chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize))
	if err != nil {
		return nil, fmt.Errorf("token issuer: read %s: %w", path, err)
	}

	key, err := parseKey(data)
	if err != nil {
		return nil, fmt.Errorf("token issuer: key file %s: %w", path, err)
	}
	return New(key, issuerURL)
}

func parseKey(data []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New(`not a PEM "PRIVATE KEY" (PKCS#8) block`)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("a %T key; the token signing key must be ECDSA P-256", parsed)
	}
	return key, nil
}
