package client

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/rassh/rassh/verifier/token"
)

// IssuerConfig is a trusted token issuer in the configuration file: the
// token verifier's settings plus how to authenticate its key-set server.
type IssuerConfig struct {
	token.IssuerConfig
	// TLSFingerprint pins the certificate of the key-set server (jwks_url)
	// by the SHA-256 of its DER encoding, in hex (colons and case ignored,
	// an optional "sha256:" prefix allowed). It replaces the system roots
	// and the host name check for that server, and is meant for a rassh CA
	// that serves its generated self-signed certificate. Empty means the
	// system roots.
	TLSFingerprint string `json:"tls_fingerprint,omitempty"`
}

// TokenIssuers returns the token verifier's part of each issuer.
func TokenIssuers(issuers []IssuerConfig) []token.IssuerConfig {
	out := make([]token.IssuerConfig, len(issuers))
	for i, iss := range issuers {
		out[i] = iss.IssuerConfig
	}
	return out
}

// KeySetHTTPClient returns the HTTP client that fetches the issuers' key
// sets. Servers are checked against the system roots, except the key-set
// servers of issuers with a TLSFingerprint, which must present exactly the
// pinned certificate. It returns nil, meaning the token verifier's default
// client, when no issuer has a fingerprint.
//
// NOTE: pins are looked up by the host and port that the transport dials
// directly. A pinned server reached through a proxy (HTTPS_PROXY) is checked
// against the system roots instead, which a self-signed certificate fails.
func KeySetHTTPClient(issuers []IssuerConfig) (*http.Client, error) {
	pins, err := keySetPins(issuers)
	if err != nil || len(pins) == 0 {
		return nil, err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
		if pin, ok := pins[strings.ToLower(addr)]; ok {
			// The pinned certificate replaces the chain and name checks,
			// which a self-signed certificate cannot pass.
			cfg.InsecureSkipVerify = true
			cfg.VerifyConnection = func(cs tls.ConnectionState) error { return checkPin(addr, cs, pin) }
		}
		return (&tls.Dialer{Config: cfg}).DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: transport, Timeout: token.DefaultFetchTimeout}, nil
}

// keySetPins maps the lower-case "host:port" of each pinned key-set URL to
// its fingerprint.
func keySetPins(issuers []IssuerConfig) (map[string][]byte, error) {
	pins := map[string][]byte{}
	for _, iss := range issuers {
		if iss.TLSFingerprint == "" {
			continue
		}
		fp, err := parseFingerprint(iss.TLSFingerprint)
		if err != nil {
			return nil, fmt.Errorf("issuer %q: %w", iss.Issuer, err)
		}
		addr, err := keySetAddr(iss.IssuerConfig)
		if err != nil {
			return nil, fmt.Errorf("issuer %q: %w", iss.Issuer, err)
		}
		if other, ok := pins[addr]; ok && subtle.ConstantTimeCompare(other, fp) != 1 {
			return nil, fmt.Errorf("issuer %q: key-set server %s is pinned to two different tls_fingerprint values", iss.Issuer, addr)
		}
		pins[addr] = fp
	}
	return pins, nil
}

// keySetAddr returns the lower-case "host:port" of the issuer's key-set
// URL, which is jwks_url or, when that is empty, on the issuer's host.
func keySetAddr(iss token.IssuerConfig) (string, error) {
	raw := iss.JWKSURL
	if raw == "" {
		raw = iss.Issuer
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("tls_fingerprint: invalid key-set URL: %w", err)
	}
	if u.Scheme != "https" || u.Hostname() == "" {
		return "", fmt.Errorf("tls_fingerprint needs an https key-set URL, not %q", raw)
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	return strings.ToLower(net.JoinHostPort(u.Hostname(), port)), nil
}

func parseFingerprint(s string) ([]byte, error) {
	clean := strings.ToLower(strings.TrimSpace(s))
	clean = strings.TrimPrefix(clean, "sha256:")
	clean = strings.ReplaceAll(clean, ":", "")
	fp, err := hex.DecodeString(clean)
	if err != nil || len(fp) != sha256.Size {
		return nil, fmt.Errorf("invalid tls_fingerprint %q, expected 64 hex digits of SHA-256", s)
	}
	return fp, nil
}

func checkPin(addr string, cs tls.ConnectionState, want []byte) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("key-set server " + addr + " sent no certificate")
	}
	got := sha256.Sum256(cs.PeerCertificates[0].Raw)
	if subtle.ConstantTimeCompare(got[:], want) != 1 {
		return fmt.Errorf("key-set server %s: certificate fingerprint %x does not match the pinned tls_fingerprint %x", addr, got[:], want)
	}
	return nil
}
