package client

import (
	"fmt"
	"time"

	"golang.org/x/crypto/ssh"
)

// HostChecker decides whether a presented host key is trusted: a host
// certificate signed by an @cert-authority key for the host, or a plain key
// listed for it, and in both cases not revoked by an @revoked line or the KRL.
type HostChecker struct {
	KnownHosts *KnownHosts
	// KRL is checked as sshd's RevokedHostKeys would be. Nil means no KRL.
	KRL *KRL
	// Now returns the current time for certificate validity. Nil means time.Now.
	Now func() time.Time
}

// HostIdentity is a host key that passed the check.
type HostIdentity struct {
	// Presented is the key the server sent: a certificate or a plain key.
	Presented ssh.PublicKey
	// Key is the plain public key that signed the session, the one ra-ssh
	// binds.
	Key ssh.PublicKey
	// Cert is the certificate when a @cert-authority line vouched for it,
	// nil when the key was trusted as a plain known_hosts key.
	Cert *ssh.Certificate
	// Attestation is the certificate's rassh extension, nil when Cert is nil
	// or has none.
	Attestation *Extension
}

// RequiresRASSH reports whether the host's certificate says it must not be
// used without the ra-ssh check.
func (id *HostIdentity) RequiresRASSH() bool {
	return id.Attestation != nil && id.Attestation.RequireRASSH
}

// Check checks key, presented by the server at address ("host:port", as
// dialed).
func (h *HostChecker) Check(address string, key ssh.PublicKey) (*HostIdentity, error) {
	host := KnownHostsName(address)
	if err := h.checkRevoked(host, key); err != nil {
		return nil, err
	}

	cert, ok := key.(*ssh.Certificate)
	if !ok {
		if !h.KnownHosts.HasHostKey(key, address) {
			return nil, checkErr(host, "host-key", ErrHostKey,
				"add the rassh CA's @cert-authority line to known_hosts (rassh-ca serves it at /v1/ca)",
				"no known_hosts entry for %s key %s", key.Type(), ssh.FingerprintSHA256(key))
		}
		return &HostIdentity{Presented: key, Key: key}, nil
	}

	checker := ssh.CertChecker{IsHostAuthority: h.KnownHosts.IsHostAuthority, Clock: h.Now}
	if certErr := checker.CheckHostKey(address, nil, cert); certErr != nil {
		// As ssh does, a certificate that fails is retried as its plain key.
		if h.KnownHosts.HasHostKey(cert.Key, address) {
			return &HostIdentity{Presented: key, Key: cert.Key}, nil
		}
		return nil, checkErr(host, "host-certificate", ErrHostKey,
			"check the @cert-authority line's host patterns and the certificate's principals and validity (ssh-keygen -L)",
			"certificate %q serial %d: %v", cert.KeyId, cert.Serial, certErr)
	}

	id := &HostIdentity{Presented: key, Key: cert.Key, Cert: cert}
	if value, ok := cert.Extensions[ExtensionName]; ok {
		ext, err := ParseExtension([]byte(value))
		if err != nil {
			return nil, checkErr(host, "host-certificate", ErrHostKey, "the CA wrote an invalid extension; reissue the certificate",
				"certificate %q: %v", cert.KeyId, err)
		}
		id.Attestation = ext
	}
	return id, nil
}

// checkRevoked applies @revoked lines and the KRL to the key, and for a
// certificate also to its plain key and its CA key.
func (h *HostChecker) checkRevoked(host string, key ssh.PublicKey) error {
	keys := []ssh.PublicKey{key}
	if cert, ok := key.(*ssh.Certificate); ok {
		keys = append(keys, cert.Key, cert.SignatureKey)
	}
	for _, k := range keys {
		if h.KnownHosts.IsRevoked(k) {
			return checkErr(host, "revocation", ErrHostKeyRevoked, "the key is on an @revoked line in known_hosts",
				"%s %s", k.Type(), ssh.FingerprintSHA256(k))
		}
	}
	if h.KRL == nil {
		return nil
	}
	if why := h.KRL.Revoked(key); why != "" {
		return checkErr(host, "revocation", ErrHostKeyRevoked, "the host's certificate or key is listed in the KRL",
			"%s", why)
	}
	return nil
}

// String describes the identity for reports.
func (id *HostIdentity) String() string {
	if id.Cert == nil {
		return fmt.Sprintf("%s %s (known_hosts)", id.Key.Type(), ssh.FingerprintSHA256(id.Key))
	}
	return fmt.Sprintf("%s %s, certificate %q serial %d", id.Key.Type(), ssh.FingerprintSHA256(id.Key), id.Cert.KeyId, id.Cert.Serial)
}
