package ca

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"time"

	"golang.org/x/crypto/ssh"
)

// template holds the fields that every certificate of one enrollment shares.
type template struct {
	principals  []string
	keyID       string
	validAfter  time.Time
	validBefore time.Time
	extension   Extension
}

// newTemplate fixes principals, key ID and validity for an enrollment issued
// at now. Validity is in whole seconds, as certificates store it.
func (a *Authority) newTemplate(principals []string, enrollmentID string, ext Extension, now time.Time) template {
	now = now.Truncate(time.Second)
	return template{
		principals:  principals,
		keyID:       fmt.Sprintf("rassh:host=%s:enrollment=%s", principals[0], enrollmentID),
		validAfter:  now.Add(-a.backdate()),
		validBefore: now.Add(a.lifetime()),
		extension:   ext,
	}
}

// signAll signs one certificate per host key, each with its own random serial
// and re-checked before it is returned.
func (a *Authority) signAll(keys []hostKey, t template, now time.Time) ([]*ssh.Certificate, error) {
	var certs []*ssh.Certificate
	for _, k := range keys {
		serial, err := a.newSerial(certs)
		if err != nil {
			return nil, err
		}
		cert, err := a.sign(k.key, serial, t)
		if err != nil {
			return nil, err
		}
		if err := a.recheck(cert, k.key, t, now); err != nil {
			return nil, fmt.Errorf("re-check of signed certificate %d: %w", serial, err)
		}
		certs = append(certs, cert)
	}
	return certs, nil
}

// newSerial returns a random non-zero serial that differs from those of
// siblings. The store rejects one that an earlier enrollment used.
func (a *Authority) newSerial(siblings []*ssh.Certificate) (uint64, error) {
	var b [8]byte
	for {
		if _, err := io.ReadFull(a.rand(), b[:]); err != nil {
			return 0, fmt.Errorf("generate serial: %w", err)
		}
		serial := binary.BigEndian.Uint64(b[:])
		duplicate := slices.ContainsFunc(siblings, func(c *ssh.Certificate) bool { return c.Serial == serial })
		if serial != 0 && !duplicate {
			return serial, nil
		}
	}
}

func (a *Authority) sign(key ssh.PublicKey, serial uint64, t template) (*ssh.Certificate, error) {
	cert := &ssh.Certificate{
		Key:             key,
		Serial:          serial,
		CertType:        ssh.HostCert,
		KeyId:           t.keyID,
		ValidPrincipals: t.principals,
		ValidAfter:      uint64(t.validAfter.Unix()),
		ValidBefore:     uint64(t.validBefore.Unix()),
		Permissions: ssh.Permissions{
			Extensions: map[string]string{ExtensionName: t.extension.Marshal()},
		},
	}
	if err := cert.SignCert(a.rand(), a.Signer); err != nil {
		return nil, fmt.Errorf("sign certificate %d: %w", serial, err)
	}
	return cert, nil
}

// recheck validates a finished certificate as a client would, plus what a
// client cannot see: it certifies exactly the intended key, principals and
// validity, and carries no critical option and only the rassh extension.
func (a *Authority) recheck(cert *ssh.Certificate, key ssh.PublicKey, t template, now time.Time) error {
	caKey := a.Signer.PublicKey().Marshal()
	checker := ssh.CertChecker{
		Clock:                    func() time.Time { return now },
		IsHostAuthority:          func(auth ssh.PublicKey, _ string) bool { return bytes.Equal(auth.Marshal(), caKey) },
		SupportedCriticalOptions: nil,
	}
	for _, p := range t.principals {
		if err := checker.CheckCert(p, cert); err != nil {
			return err
		}
	}
	switch {
	case cert.CertType != ssh.HostCert:
		return fmt.Errorf("certificate type %d, expected host", cert.CertType)
	case !checker.IsHostAuthority(cert.SignatureKey, ""):
		return fmt.Errorf("certificate signed by %s, not the CA key", ssh.FingerprintSHA256(cert.SignatureKey))
	case !bytes.Equal(cert.Key.Marshal(), key.Marshal()):
		return fmt.Errorf("certificate for key %s, expected %s", ssh.FingerprintSHA256(cert.Key), ssh.FingerprintSHA256(key))
	case !slices.Equal(cert.ValidPrincipals, t.principals):
		return fmt.Errorf("certificate principals %q, expected %q", cert.ValidPrincipals, t.principals)
	case cert.ValidAfter != uint64(t.validAfter.Unix()) || cert.ValidBefore != uint64(t.validBefore.Unix()):
		return fmt.Errorf("certificate validity [%d, %d) differs from the template", cert.ValidAfter, cert.ValidBefore)
	case cert.SignatureKey.Type() == ssh.KeyAlgoRSA && cert.Signature.Format != ssh.KeyAlgoRSASHA512:
		return fmt.Errorf("certificate signed with %s, expected %s", cert.Signature.Format, ssh.KeyAlgoRSASHA512)
	case len(cert.CriticalOptions) != 0:
		return fmt.Errorf("certificate has %d critical options, expected none", len(cert.CriticalOptions))
	case len(cert.Extensions) != 1:
		return fmt.Errorf("certificate has %d extensions, expected 1", len(cert.Extensions))
	}
	_, err := ParseExtension([]byte(cert.Extensions[ExtensionName]))
	return err
}

// newEnrollmentID returns 8 random bytes in hex, naming one enrollment in key
// IDs, host records and the audit log.
func (a *Authority) newEnrollmentID() (string, error) {
	var b [8]byte
	if _, err := io.ReadFull(a.rand(), b[:]); err != nil {
		return "", fmt.Errorf("generate enrollment ID: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
