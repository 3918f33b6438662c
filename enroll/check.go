package enroll

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// CertCheck holds the expectations that a certificate from the CA must meet
// before the agent installs it.
type CertCheck struct {
	// HostKey is the key the certificate must certify.
	HostKey ssh.PublicKey
	// CAKeys are the SSH CA keys the agent trusts; the certificate must be
	// signed by one of them.
	CAKeys []ssh.PublicKey
	// Principals, when not empty, is the exact set of principals the
	// certificate must carry. Empty means any non-empty set without
	// wildcards, for an agent that lets the CA choose.
	Principals []string
	// Now is the time at which the certificate must be valid.
	Now time.Time
}

// Errors of CheckCertificate that callers and tests tell apart.
var (
	errNotHostCert       = errors.New("not a host certificate")
	errWrongKey          = errors.New("certifies another key")
	errUntrustedCA       = errors.New("signed by an untrusted CA key")
	errPrincipals        = errors.New("unexpected principals")
	errNotYetValid       = errors.New("not yet valid")
	errExpired           = errors.New("expired")
	errCriticalOptions   = errors.New("has critical options")
	errWildcardPrincipal = errors.New("has a wildcard principal")
)

// CheckCertificate checks a host certificate against c: type host, the
// expected key, a trusted CA key with a valid signature, the expected
// principals, no critical options, and validity at c.Now.
func CheckCertificate(cert *ssh.Certificate, c CertCheck) error {
	if cert.CertType != ssh.HostCert {
		return certError(cert, errNotHostCert)
	}
	if !bytes.Equal(cert.Key.Marshal(), c.HostKey.Marshal()) {
		return certError(cert, fmt.Errorf("%w %s, expected %s", errWrongKey,
			ssh.FingerprintSHA256(cert.Key), ssh.FingerprintSHA256(c.HostKey)))
	}
	if !trusted(cert.SignatureKey, c.CAKeys) {
		return certError(cert, fmt.Errorf("%w %s", errUntrustedCA, ssh.FingerprintSHA256(cert.SignatureKey)))
	}
	if len(cert.CriticalOptions) != 0 {
		return certError(cert, errCriticalOptions)
	}
	if err := checkPrincipals(cert.ValidPrincipals, c.Principals); err != nil {
		return certError(cert, err)
	}
	if err := checkValidity(cert, c.Now); err != nil {
		return certError(cert, err)
	}

	// CertChecker verifies the CA signature; the checks above already
	// covered what else it looks at.
	checker := &ssh.CertChecker{Clock: func() time.Time { return c.Now }}
	if err := checker.CheckCert(cert.ValidPrincipals[0], cert); err != nil {
		return certError(cert, err)
	}
	return nil
}

// CertError is a certificate from the CA that the agent refuses to install.
type CertError struct {
	Serial uint64
	Err    error
}

func (e *CertError) Error() string {
	return fmt.Sprintf("check certificate serial %d: %v", e.Serial, e.Err)
}

func (e *CertError) Unwrap() error { return e.Err }

func certError(cert *ssh.Certificate, err error) *CertError {
	return &CertError{Serial: cert.Serial, Err: err}
}

func trusted(key ssh.PublicKey, caKeys []ssh.PublicKey) bool {
	for _, ca := range caKeys {
		if bytes.Equal(ca.Marshal(), key.Marshal()) {
			return true
		}
	}
	return false
}

func checkPrincipals(got, want []string) error {
	if len(got) == 0 {
		return fmt.Errorf("%w: none", errPrincipals)
	}
	for _, p := range got {
		if p == "" || strings.ContainsAny(p, "*?") {
			return fmt.Errorf("%w %q", errWildcardPrincipal, p)
		}
	}
	if len(want) == 0 {
		return nil
	}
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		return fmt.Errorf("%w %q, expected %q", errPrincipals, got, want)
	}
	return nil
}

func checkValidity(cert *ssh.Certificate, now time.Time) error {
	unix := now.Unix()
	if unix < 0 || uint64(unix) < cert.ValidAfter {
		return fmt.Errorf("%w: valid after %s", errNotYetValid, certTime(cert.ValidAfter).Format(time.RFC3339))
	}
	if cert.ValidBefore != ssh.CertTimeInfinity && uint64(unix) >= cert.ValidBefore {
		return fmt.Errorf("%w at %s", errExpired, certTime(cert.ValidBefore).Format(time.RFC3339))
	}
	return nil
}

// certTime converts a certificate time to time.Time; CertTimeInfinity and
// values past the int64 range map to the largest Unix time.
func certTime(t uint64) time.Time {
	if t > 1<<63-1 {
		return time.Unix(1<<63-1, 0)
	}
	return time.Unix(int64(t), 0).UTC()
}
