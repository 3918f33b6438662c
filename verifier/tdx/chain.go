package tdx

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	_ "embed"
	"encoding/pem"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/go-tdx-guest/pcs"

	"github.com/rassh/rassh/verifier"
)

// intelRootPEM is the Intel SGX Root CA (valid 2018-05-21 to 2049-12-31),
// the same certificate go-tdx-guest v0.3.1 embeds as verify/trusted_root.pem.
//
//go:embed intel_sgx_root_ca.pem
var intelRootPEM []byte

const checkChain = "pck chain"

var intelRoot = sync.OnceValue(func() *x509.Certificate {
	block, _ := pem.Decode(intelRootPEM)
	if block == nil {
		panic("tdx: embedded Intel SGX Root CA is not PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		panic("tdx: embedded Intel SGX Root CA does not parse: " + err.Error())
	}
	return cert
})

// IntelRootPool returns a new pool holding only the Intel SGX Root CA.
func IntelRootPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(intelRoot())
	return pool
}

// pckChain is the PCK certificate chain a quote carries.
type pckChain struct {
	leaf, intermediate, root *x509.Certificate
	ext                      *pcs.PckExtensions
	key                      *ecdsa.PublicKey

	// anchorRoot is the trusted root the chain verified to, and simulated
	// is true when that root came from the simulation roots.
	anchorRoot *x509.Certificate
	simulated  bool
}

// parsePCKChain parses exactly three PEM certificates (PCK leaf, PCK CA, root
// CA) with at most one trailing NUL byte, which real quotes carry.
func parsePCKChain(b []byte) (*pckChain, error) {
	var certs []*x509.Certificate
	rest := b
	for range 3 {
		block, r := pem.Decode(rest)
		if block == nil || block.Type != "CERTIFICATE" {
			return nil, verifier.Reject(checkChain, "parse PCK chain: certificate %d is not a PEM CERTIFICATE block", len(certs)+1)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, verifier.Reject(checkChain, "parse PCK chain: certificate %d: %v", len(certs)+1, err)
		}
		certs = append(certs, cert)
		rest = r
	}
	rest = bytes.TrimLeft(rest, "\r\n")
	if len(rest) > 1 || (len(rest) == 1 && rest[0] != 0) {
		return nil, verifier.Reject(checkChain, "parse PCK chain: %d unexpected bytes after the third certificate", len(rest))
	}

	c := &pckChain{leaf: certs[0], intermediate: certs[1], root: certs[2]}
	key, ok := c.leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, verifier.Reject(checkChain, "parse PCK chain: PCK certificate key is %T, want ECDSA P-256", c.leaf.PublicKey)
	}
	c.key = key
	ext, err := pcs.PckCertificateExtensions(c.leaf)
	if err != nil {
		return nil, verifier.Reject(checkChain, "parse PCK chain: SGX extensions of the PCK certificate: %v", err)
	}
	c.ext = ext
	return c, nil
}

// verify checks the chain up to a root in roots at time now and returns
// that root.
func (c *pckChain) verify(roots *x509.CertPool, now time.Time) (*x509.Certificate, error) {
	intermediates := x509.NewCertPool()
	intermediates.AddCert(c.intermediate)
	chains, err := c.leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: intermediates,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return nil, verifier.Reject(checkChain, "verify PCK chain of %q at %s: %v", c.leaf.Subject.CommonName, now.UTC().Format(time.RFC3339), err)
	}
	chain := chains[0]
	return chain[len(chain)-1], nil
}

// anchor verifies the chain against the trusted roots and, failing that,
// against the simulation roots. It records the root and whether the chain
// is simulated.
func (c *pckChain) anchor(trusted, simulation *x509.CertPool, now time.Time) error {
	root, err := c.verify(trusted, now)
	if err == nil {
		c.anchorRoot = root
		return nil
	}
	if simulation != nil {
		if root, simErr := c.verify(simulation, now); simErr == nil {
			c.anchorRoot, c.simulated = root, true
			return nil
		}
	}
	return err
}

// pckCA names the PCS "ca" parameter of the PCK CRL for this chain.
func (c *pckChain) pckCA() (string, error) {
	// Intel's names are "Intel SGX PCK Platform CA" and "Intel SGX PCK
	// Processor CA"; the simulation's intermediate ends the same way.
	name := c.leaf.Issuer.CommonName
	switch {
	case strings.HasSuffix(name, "PCK Platform CA"):
		return "platform", nil
	case strings.HasSuffix(name, "PCK Processor CA"):
		return "processor", nil
	}
	return "", fmt.Errorf("PCK issuer %q is neither a PCK Platform CA nor a PCK Processor CA", name)
}
