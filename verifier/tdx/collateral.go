package tdx

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"time"

	"github.com/google/go-tdx-guest/pcs"

	"github.com/rassh/rassh/verifier"
)

// Collateral is Intel PCS collateral for one platform, as PCS serves it.
type Collateral struct {
	// TCBInfo is the body of GET /tdx/certification/v4/tcb?fmspc=...:
	// {"tcbInfo":{...},"signature":"<hex r||s>"}.
	TCBInfo []byte
	// TCBInfoIssuerChain is the PEM TCB signing certificate and root, from
	// the TCB-Info-Issuer-Chain header.
	TCBInfoIssuerChain []byte
	// QEIdentity is the body of GET /tdx/certification/v4/qe/identity:
	// {"enclaveIdentity":{...},"signature":"<hex r||s>"}.
	QEIdentity []byte
	// QEIdentityIssuerChain is the PEM TCB signing certificate and root, from
	// the SGX-Enclave-Identity-Issuer-Chain header.
	QEIdentityIssuerChain []byte
	// PCKCRL is the CRL (DER or PEM) of the CA that issued the PCK certificate.
	PCKCRL []byte
	// PCKCRLIssuerChain is the PEM PCK CA certificate and root, from the
	// SGX-PCK-CRL-Issuer-Chain header. The verifier checks the PCK CRL
	// against the PCK CA in the quote, so it reads this only for the record.
	PCKCRLIssuerChain []byte
	// RootCRL is the Intel SGX Root CA CRL (DER or PEM).
	RootCRL []byte
}

// Check names of collateral evaluation.
const (
	checkCollateral = "collateral"  // collateral signature, issuer chain, identity or format
	checkRevoked    = "pck revoked" // the PCK certificate or its CA is on a CRL
	checkTDXModule  = "tdx module"  // MRSIGNERSEAM or SEAM attributes differ from the TCB info
	checkQEIdentity = "qe identity" // the QE report differs from the QE identity
)

// Maximum sizes of collateral parts. Intel's largest PCK CRLs are a few
// hundred kilobytes; TCB info for one FMSPC is a few tens.
const (
	maxCollateralJSON = 1 << 20
	maxCRL            = 4 << 20
	maxIssuerChain    = 64 << 10
)

// signedTCBInfo and signedQEIdentity keep the signed JSON byte for byte,
// because the signature covers those exact bytes.
type signedTCBInfo struct {
	TCBInfo   json.RawMessage `json:"tcbInfo"`
	Signature string          `json:"signature"`
}

type signedQEIdentity struct {
	EnclaveIdentity json.RawMessage `json:"enclaveIdentity"`
	Signature       string          `json:"signature"`
}

// parseCRL parses a DER or PEM CRL.
func parseCRL(b []byte, what string) (*x509.RevocationList, error) {
	if len(b) > maxCRL {
		return nil, verifier.Reject(checkCollateral, "parse %s: size %d exceeds the maximum %d", what, len(b), maxCRL)
	}
	if block, _ := pem.Decode(b); block != nil {
		b = block.Bytes
	}
	crl, err := x509.ParseRevocationList(b)
	if err != nil {
		return nil, verifier.Reject(checkCollateral, "parse %s: %v", what, err)
	}
	return crl, nil
}

// checkCRL verifies a CRL's signature by issuer and that now is inside
// [thisUpdate, nextUpdate]. An expired CRL leaves the revocation status
// unknown, so it is undecided rather than rejected.
func checkCRL(crl *x509.RevocationList, issuer *x509.Certificate, now time.Time, what string) error {
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		return verifier.Reject(checkCollateral, "verify %s signature with %q: %v", what, issuer.Subject.CommonName, err)
	}
	return checkWindow(crl.ThisUpdate, crl.NextUpdate, now, what)
}

func checkWindow(issued, next time.Time, now time.Time, what string) error {
	if now.Before(issued) || !now.Before(next) {
		return &verifier.UndecidedError{Op: "check collateral", Err: fmt.Errorf("%s is valid from %s until %s, not at %s",
			what, issued.UTC().Format(time.RFC3339), next.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))}
	}
	return nil
}

// revoked reports whether cert's serial number is on crl.
func revoked(crl *x509.RevocationList, cert *x509.Certificate) bool {
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
			return true
		}
	}
	return false
}

// signingCert parses a PEM issuer chain (signing certificate first) and
// verifies the signing certificate up to roots at now and against the root
// CRL.
func signingCert(chainPEM []byte, roots *x509.CertPool, rootCRL *x509.RevocationList, now time.Time, what string) (*x509.Certificate, error) {
	if len(chainPEM) > maxIssuerChain {
		return nil, verifier.Reject(checkCollateral, "parse %s issuer chain: size %d exceeds the maximum %d", what, len(chainPEM), maxIssuerChain)
	}
	block, _ := pem.Decode(chainPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, verifier.Reject(checkCollateral, "parse %s issuer chain: no PEM CERTIFICATE block", what)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, verifier.Reject(checkCollateral, "parse %s issuer chain: %v", what, err)
	}
	_, err = cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return nil, verifier.Reject(checkCollateral, "verify %s signing certificate %q: %v", what, cert.Subject.CommonName, err)
	}
	if revoked(rootCRL, cert) {
		return nil, verifier.Reject(checkCollateral, "%s signing certificate %q (serial %x) is on the root CA CRL", what, cert.Subject.CommonName, cert.SerialNumber)
	}
	return cert, nil
}

// checkBodySignature verifies a hex r||s ECDSA P-256 signature over body.
func checkBodySignature(cert *x509.Certificate, body []byte, sigHex, what string) error {
	sig, err := hex.DecodeString(sigHex)
	if err != nil || len(sig) != signatureSize {
		return verifier.Reject(checkCollateral, "%s signature is not %d bytes of hex", what, signatureSize)
	}
	key, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return verifier.Reject(checkCollateral, "%s signing certificate key is %T, want ECDSA", what, cert.PublicKey)
	}
	if !verifyRS(key, body, sig) {
		return verifier.Reject(checkCollateral, "%s signature does not verify with %q", what, cert.Subject.CommonName)
	}
	return nil
}

// parseTCBInfo verifies and parses a PCS TCB info response.
func parseTCBInfo(body, issuerChain []byte, roots *x509.CertPool, rootCRL *x509.RevocationList, now time.Time) (*pcs.TcbInfo, error) {
	var signed signedTCBInfo
	if err := unmarshalBounded(body, &signed, "TCB info"); err != nil {
		return nil, err
	}
	cert, err := signingCert(issuerChain, roots, rootCRL, now, "TCB info")
	if err != nil {
		return nil, err
	}
	if err := checkBodySignature(cert, signed.TCBInfo, signed.Signature, "TCB info"); err != nil {
		return nil, err
	}
	var info pcs.TcbInfo
	if err := json.Unmarshal(signed.TCBInfo, &info); err != nil {
		return nil, verifier.Reject(checkCollateral, "parse TCB info: %v", err)
	}
	if info.ID != "TDX" || info.Version != 3 {
		return nil, verifier.Reject(checkCollateral, "TCB info has id %q version %d, want TDX version 3", info.ID, info.Version)
	}
	if len(info.TcbLevels) == 0 {
		return nil, verifier.Reject(checkCollateral, "TCB info for FMSPC %s has no TCB levels", info.Fmspc)
	}
	if err := checkWindow(info.IssueDate, info.NextUpdate, now, "TCB info for FMSPC "+info.Fmspc); err != nil {
		return nil, err
	}
	return &info, nil
}

// parseQEIdentity verifies and parses a PCS TD QE identity response.
func parseQEIdentity(body, issuerChain []byte, roots *x509.CertPool, rootCRL *x509.RevocationList, now time.Time) (*pcs.EnclaveIdentity, error) {
	var signed signedQEIdentity
	if err := unmarshalBounded(body, &signed, "QE identity"); err != nil {
		return nil, err
	}
	cert, err := signingCert(issuerChain, roots, rootCRL, now, "QE identity")
	if err != nil {
		return nil, err
	}
	if err := checkBodySignature(cert, signed.EnclaveIdentity, signed.Signature, "QE identity"); err != nil {
		return nil, err
	}
	var id pcs.EnclaveIdentity
	if err := json.Unmarshal(signed.EnclaveIdentity, &id); err != nil {
		return nil, verifier.Reject(checkCollateral, "parse QE identity: %v", err)
	}
	if id.ID != "TD_QE" || id.Version != 2 {
		return nil, verifier.Reject(checkCollateral, "QE identity has id %q version %d, want TD_QE version 2", id.ID, id.Version)
	}
	if len(id.TcbLevels) == 0 {
		return nil, verifier.Reject(checkCollateral, "QE identity has no TCB levels")
	}
	if err := checkWindow(id.IssueDate, id.NextUpdate, now, "QE identity"); err != nil {
		return nil, err
	}
	return &id, nil
}

func unmarshalBounded(b []byte, v any, what string) error {
	if len(b) > maxCollateralJSON {
		return verifier.Reject(checkCollateral, "parse %s: size %d exceeds the maximum %d", what, len(b), maxCollateralJSON)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return verifier.Reject(checkCollateral, "parse %s: %v", what, err)
	}
	return nil
}
