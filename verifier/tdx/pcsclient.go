package tdx

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/rassh/rassh/verifier"
)

// Default endpoints of Intel's Provisioning Certification Service.
const (
	DefaultPCSBaseURL    = "https://api.trustedservices.intel.com"
	DefaultRootCRLURL    = "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"
	defaultPCSTimeout    = 30 * time.Second
	maxIssuerChainHeader = maxIssuerChain * 3 // percent-encoding at most triples the size
)

// PCSClient fetches collateral from Intel PCS API v4. It implements
// CollateralSource.
type PCSClient struct {
	// BaseURL is the PCS API root. Empty means DefaultPCSBaseURL.
	BaseURL string
	// RootCRLURL is the URL of the Intel SGX Root CA CRL. Empty means
	// DefaultRootCRLURL.
	RootCRLURL string
	// CacheDir keeps fetched collateral in NewDirCollateral's layout, and
	// serves it again until the earliest nextUpdate in it. Empty means no
	// cache.
	CacheDir string
	// HTTPClient makes the requests. Nil means a client with a 30-second
	// timeout.
	HTTPClient *http.Client
	// TrustedRoots anchors the signatures of fetched collateral, which are
	// checked before it is cached. Nil means the embedded Intel SGX Root CA.
	TrustedRoots *x509.CertPool
	// Now is the time for freshness and signature checks. Nil means time.Now.
	Now func() time.Time
}

func (p *PCSClient) now() time.Time {
	if p.Now == nil {
		return time.Now()
	}
	return p.Now()
}

// Collateral returns the collateral for fmspc and pckCA, from the cache while
// it is fresh, else from PCS. A failed request is a *verifier.UndecidedError;
// collateral whose signatures do not verify is a *verifier.RejectedError.
func (p *PCSClient) Collateral(ctx context.Context, fmspc []byte, pckCA string) (*Collateral, error) {
	if pckCA != "platform" && pckCA != "processor" {
		return nil, fmt.Errorf("fetch collateral: PCK CA %q is not platform or processor", pckCA)
	}
	now := p.now()
	if p.CacheDir != "" {
		if c, err := NewDirCollateral(p.CacheDir).Collateral(ctx, fmspc, pckCA); err == nil && fresh(c, now) {
			return c, nil
		}
	}

	c, err := p.fetch(ctx, fmspc, pckCA)
	if err != nil {
		return nil, err
	}
	roots := p.TrustedRoots
	if roots == nil {
		roots = IntelRootPool()
	}
	if err := verifyFetched(c, roots, now); err != nil {
		return nil, err
	}
	if p.CacheDir != "" {
		if err := writeCache(p.CacheDir, c, fmspc, pckCA); err != nil {
			return nil, fmt.Errorf("cache collateral in %s: %w", p.CacheDir, err)
		}
	}
	return c, nil
}

func (p *PCSClient) fetch(ctx context.Context, fmspc []byte, pckCA string) (*Collateral, error) {
	base := p.BaseURL
	if base == "" {
		base = DefaultPCSBaseURL
	}
	rootCRL := p.RootCRLURL
	if rootCRL == "" {
		rootCRL = DefaultRootCRLURL
	}
	c := &Collateral{}
	requests := []struct {
		url, header string
		limit       int64
		body, chain *[]byte
	}{
		{base + "/tdx/certification/v4/tcb?fmspc=" + hex.EncodeToString(fmspc), "TCB-Info-Issuer-Chain", maxCollateralJSON, &c.TCBInfo, &c.TCBInfoIssuerChain},
		{base + "/tdx/certification/v4/qe/identity", "SGX-Enclave-Identity-Issuer-Chain", maxCollateralJSON, &c.QEIdentity, &c.QEIdentityIssuerChain},
		{base + "/sgx/certification/v4/pckcrl?ca=" + pckCA + "&encoding=der", "SGX-PCK-CRL-Issuer-Chain", maxCRL, &c.PCKCRL, &c.PCKCRLIssuerChain},
		{rootCRL, "", maxCRL, &c.RootCRL, nil},
	}
	for _, r := range requests {
		body, chain, err := p.get(ctx, r.url, r.header, r.limit)
		if err != nil {
			return nil, &verifier.UndecidedError{Op: "fetch collateral", Err: err}
		}
		*r.body = body
		if r.chain != nil {
			*r.chain = chain
		}
	}
	return c, nil
}

// get fetches url and returns its body and the URL-decoded header chainHeader.
func (p *PCSClient) get(ctx context.Context, rawURL, chainHeader string, limit int64) (body, chain []byte, err error) {
	client := p.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: defaultPCSTimeout}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET %s: status %s", rawURL, resp.Status)
	}

	body, err = io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w", rawURL, err)
	}
	if int64(len(body)) > limit {
		return nil, nil, fmt.Errorf("GET %s: body exceeds %d bytes", rawURL, limit)
	}
	if chainHeader == "" {
		return body, nil, nil
	}

	enc := resp.Header.Get(chainHeader)
	if enc == "" || len(enc) > maxIssuerChainHeader {
		return nil, nil, fmt.Errorf("GET %s: header %s is missing or longer than %d bytes", rawURL, chainHeader, maxIssuerChainHeader)
	}
	// PathUnescape, unlike QueryUnescape, leaves a literal "+" of base64 alone.
	dec, err := url.PathUnescape(enc)
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: header %s: %w", rawURL, chainHeader, err)
	}
	return body, []byte(dec), nil
}

// verifyFetched checks the signatures and validity of fetched collateral
// before it is cached: root CRL by a trusted root, PCK CRL by the PCK CA of
// its issuer chain, TCB info and QE identity by their signing certificates.
func verifyFetched(c *Collateral, roots *x509.CertPool, now time.Time) error {
	rootCRL, err := parseCRL(c.RootCRL, "root CA CRL")
	if err != nil {
		return err
	}
	pckCA, err := signingCert(c.PCKCRLIssuerChain, roots, rootCRL, now, "PCK CRL")
	if err != nil {
		return err
	}
	rootCert, err := issuerRoot(pckCA, roots, now)
	if err != nil {
		return err
	}
	if err := checkCRL(rootCRL, rootCert, now, "root CA CRL"); err != nil {
		return err
	}
	pckCRL, err := parseCRL(c.PCKCRL, "PCK CRL")
	if err != nil {
		return err
	}
	if err := checkCRL(pckCRL, pckCA, now, "PCK CRL"); err != nil {
		return err
	}
	if _, err := parseTCBInfo(c.TCBInfo, c.TCBInfoIssuerChain, roots, rootCRL, now); err != nil {
		return err
	}
	_, err = parseQEIdentity(c.QEIdentity, c.QEIdentityIssuerChain, roots, rootCRL, now)
	return err
}

// issuerRoot returns the trusted root that cert chains to.
func issuerRoot(cert *x509.Certificate, roots *x509.CertPool, now time.Time) (*x509.Certificate, error) {
	chains, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return nil, verifier.Reject(checkCollateral, "verify %q: %v", cert.Subject.CommonName, err)
	}
	return chains[0][len(chains[0])-1], nil
}

// fresh reports whether now is before the nextUpdate of every part of c.
// Signatures are not checked here; the verifier checks them at every use.
func fresh(c *Collateral, now time.Time) bool {
	for _, crlBytes := range [][]byte{c.RootCRL, c.PCKCRL} {
		crl, err := parseCRL(crlBytes, "CRL")
		if err != nil || !now.Before(crl.NextUpdate) {
			return false
		}
	}
	var tcb struct {
		TCBInfo struct {
			NextUpdate time.Time `json:"nextUpdate"`
		} `json:"tcbInfo"`
	}
	var qe struct {
		EnclaveIdentity struct {
			NextUpdate time.Time `json:"nextUpdate"`
		} `json:"enclaveIdentity"`
	}
	if unmarshalBounded(c.TCBInfo, &tcb, "TCB info") != nil || unmarshalBounded(c.QEIdentity, &qe, "QE identity") != nil {
		return false
	}
	return now.Before(tcb.TCBInfo.NextUpdate) && now.Before(qe.EnclaveIdentity.NextUpdate)
}

// writeCache writes c into dir in NewDirCollateral's layout, each file
// through a temporary file and a rename so readers never see half a file.
func writeCache(dir string, c *Collateral, fmspc []byte, pckCA string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range c.files(fmspc, pckCA) {
		tmp, err := os.CreateTemp(dir, ".tmp-"+f.name)
		if err != nil {
			return err
		}
		_, werr := tmp.Write(*f.data)
		cerr := tmp.Close()
		if werr != nil || cerr != nil {
			os.Remove(tmp.Name())
			return fmt.Errorf("write %s: %v %v", f.name, werr, cerr)
		}
		if err := os.Chmod(tmp.Name(), 0o644); err != nil {
			os.Remove(tmp.Name())
			return err
		}
		if err := os.Rename(tmp.Name(), filepath.Join(dir, f.name)); err != nil {
			os.Remove(tmp.Name())
			return err
		}
	}
	return nil
}
