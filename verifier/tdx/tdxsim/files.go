package tdxsim

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Files Save writes. Certificates are public (0644); keys are 0600.
const (
	RootFile            = "root.pem"
	IntermediateFile    = "intermediate.pem"
	PCKFile             = "pck.pem"
	rootKeyFile         = "root-key.pem"
	intermediateKeyFile = "intermediate-key.pem"
	pckKeyFile          = "pck-key.pem"
	attestationKeyFile  = "attestation-key.pem"
	certMode, keyMode   = 0o644, 0o600
	directoryMode       = 0o700
)

type keyFile struct {
	name string
	key  **ecdsa.PrivateKey
}

func (a *Authority) keyFiles() []keyFile {
	return []keyFile{
		{rootKeyFile, &a.rootKey},
		{intermediateKeyFile, &a.intermediateKey},
		{pckKeyFile, &a.pckKey},
		{attestationKeyFile, &a.attestationKey},
	}
}

func (a *Authority) certFiles() map[string]**x509.Certificate {
	return map[string]**x509.Certificate{RootFile: &a.root, IntermediateFile: &a.intermediate, PCKFile: &a.pck}
}

// Save writes the chain and the keys to dir, creating it with mode 0700.
// RootFile is what a CA configuration names to trust simulated TDs.
func (a *Authority) Save(dir string) error {
	if err := os.MkdirAll(dir, directoryMode); err != nil {
		return fmt.Errorf("save simulation authority: %w", err)
	}
	for name, cert := range a.certFiles() {
		data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: (*cert).Raw})
		if err := writeFile(filepath.Join(dir, name), data, certMode); err != nil {
			return fmt.Errorf("save simulation authority: %w", err)
		}
	}
	for _, kf := range a.keyFiles() {
		der, err := x509.MarshalPKCS8PrivateKey(*kf.key)
		if err != nil {
			return fmt.Errorf("save simulation authority: %s: %w", kf.name, err)
		}
		data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		if err := writeFile(filepath.Join(dir, kf.name), data, keyMode); err != nil {
			return fmt.Errorf("save simulation authority: %w", err)
		}
	}
	return nil
}

// writeFile writes data with exactly mode perm, also when the file existed
// with other permissions.
func writeFile(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// LoadAuthority reads an authority that Save wrote to dir. Key files must
// not be readable by group or others.
func LoadAuthority(dir string) (*Authority, error) {
	a := &Authority{}
	for name, cert := range a.certFiles() {
		block, err := readPEM(filepath.Join(dir, name), "CERTIFICATE")
		if err != nil {
			return nil, fmt.Errorf("load simulation authority: %w", err)
		}
		if *cert, err = x509.ParseCertificate(block.Bytes); err != nil {
			return nil, fmt.Errorf("load simulation authority: %s: %w", name, err)
		}
	}
	for _, kf := range a.keyFiles() {
		path := filepath.Join(dir, kf.name)
		info, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("load simulation authority: %w", err)
		}
		if info.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("load simulation authority: %s has mode %#o, want 0600", path, info.Mode().Perm())
		}
		block, err := readPEM(path, "PRIVATE KEY")
		if err != nil {
			return nil, fmt.Errorf("load simulation authority: %w", err)
		}
		key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("load simulation authority: %s: %w", path, err)
		}
		ec, ok := key.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("load simulation authority: %s contains a %T, want an ECDSA key", path, key)
		}
		*kf.key = ec
	}
	if !a.pckKey.PublicKey.Equal(a.pck.PublicKey) {
		return nil, errors.New("load simulation authority: pck-key.pem does not match pck.pem")
	}
	return a, nil
}

func readPEM(path, blockType string) (*pem.Block, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != blockType {
		return nil, fmt.Errorf("%s: no PEM %s block", path, blockType)
	}
	return block, nil
}
