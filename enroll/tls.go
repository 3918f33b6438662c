package enroll

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
)

// TLSOptions says how the agent authenticates the CA's HTTPS server.
type TLSOptions struct {
	// Fingerprint pins the CA server's leaf certificate by the SHA-256 of
	// its DER encoding, in hex (colons and case ignored, an optional
	// "sha256:" prefix allowed). Meant for a CA that runs with a generated
	// self-signed certificate. The chain and host name are not checked
	// when it is set.
	Fingerprint string
	// CABundle is a PEM file of roots that the server's chain must lead to.
	// Empty means the system roots.
	CABundle string
	// Timeout bounds each request. Zero means 30 seconds.
	Timeout time.Duration
}

// NewHTTPClient returns an HTTP client that authenticates the CA as opts says.
func NewHTTPClient(opts TLSOptions) (*http.Client, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	switch {
	case opts.Fingerprint != "" && opts.CABundle != "":
		return nil, errors.New("CA TLS: set either a certificate fingerprint or a CA bundle, not both")
	case opts.Fingerprint != "":
		want, err := ParseFingerprint(opts.Fingerprint)
		if err != nil {
			return nil, err
		}
		// The pinned leaf replaces chain and name checks, which a
		// self-signed development certificate cannot pass.
		cfg.InsecureSkipVerify = true
		cfg.VerifyPeerCertificate = func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
			return checkFingerprint(rawCerts, want)
		}
	case opts.CABundle != "":
		pem, err := os.ReadFile(opts.CABundle)
		if err != nil {
			return nil, fmt.Errorf("CA TLS: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA TLS: no certificate found in %s", opts.CABundle)
		}
		cfg.RootCAs = pool
	}

	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = cfg
	return &http.Client{Transport: transport, Timeout: timeout}, nil
}

// ParseFingerprint decodes a SHA-256 certificate fingerprint in hex.
func ParseFingerprint(s string) ([]byte, error) {
	clean := strings.ToLower(strings.TrimSpace(s))
	clean = strings.TrimPrefix(clean, "sha256:")
	clean = strings.ReplaceAll(clean, ":", "")
	fp, err := hex.DecodeString(clean)
	if err != nil || len(fp) != sha256.Size {
		return nil, fmt.Errorf("CA TLS: invalid fingerprint %q, expected 64 hex digits of SHA-256", s)
	}
	return fp, nil
}

func checkFingerprint(rawCerts [][]byte, want []byte) error {
	if len(rawCerts) == 0 {
		return errors.New("CA TLS: server sent no certificate")
	}
	got := sha256.Sum256(rawCerts[0])
	if subtle.ConstantTimeCompare(got[:], want) != 1 {
		return fmt.Errorf("CA TLS: server certificate fingerprint %x does not match the pinned %x", got[:], want)
	}
	return nil
}
