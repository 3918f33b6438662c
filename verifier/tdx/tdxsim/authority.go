// Package tdxsim is a simulated TDX trust domain for development and tests.
//
// An Authority holds a simulation PCK chain (a root CA whose subject names it
// a simulation, a PCK platform CA, and a PCK leaf certificate carrying
// Intel's SGX extensions), a quoting enclave key and an attestation key. Its
// quotes have Intel's quote v4 layout and pass tdx.Verifier only when the
// verifier's SimulationRoots hold the authority's root; the claims then say
// Simulated. Nothing here runs inside a TD, so a simulated quote proves
// nothing about the machine that made it.
package tdxsim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

// Subjects of the simulation chain. The root's names contain "SIMULATED" and
// "not Intel" so that it cannot be mistaken for the Intel SGX Root CA. The
// intermediate and leaf names end like Intel's, so code that derives the PCS
// "ca" parameter from the issuer name works unchanged.
const (
	RootCommonName         = "rassh SIMULATED TDX Root CA (not Intel)"
	IntermediateCommonName = "rassh SIMULATED PCK Platform CA"
	PCKCommonName          = "rassh SIMULATED PCK Certificate"
	organization           = "rassh simulation, development and tests only"
)

// Validity of the simulation certificates from the time NewAuthority gets.
const (
	backdate = time.Hour
	lifetime = 10 * 365 * 24 * time.Hour
)

// Platform values the simulated PCK certificate carries.
var (
	// FMSPC spells "SIM" in ASCII, so collateral lookups for it are obviously
	// not for a real platform.
	FMSPC = [6]byte{'S', 'I', 'M', 0, 0, 0}
	PCEID = [2]byte{0, 0}
	// DefaultTCB is the SGX TCB a new authority's PCK certificate records.
	DefaultTCB = PlatformTCB{SGXComponents: [16]byte{3, 3, 2, 2, 2, 1, 0, 3}, PCESVN: 11}
)

// Authority is a simulation PCK chain with its keys.
type Authority struct {
	root, intermediate, pck *x509.Certificate

	rootKey, intermediateKey, pckKey, attestationKey *ecdsa.PrivateKey
}

// NewAuthority generates a simulation chain valid from an hour before now
// for ten years, and fresh keys.
func NewAuthority(now time.Time) (*Authority, error) {
	a := &Authority{}
	var err error
	for _, k := range []**ecdsa.PrivateKey{&a.rootKey, &a.intermediateKey, &a.pckKey, &a.attestationKey} {
		if *k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return nil, fmt.Errorf("new simulation authority: %w", err)
		}
	}

	notBefore, notAfter := now.Add(-backdate), now.Add(lifetime)
	root := caTemplate(RootCommonName, notBefore, notAfter, 1)
	if a.root, err = createCert(root, root, &a.rootKey.PublicKey, a.rootKey); err != nil {
		return nil, fmt.Errorf("new simulation authority: root CA: %w", err)
	}
	inter := caTemplate(IntermediateCommonName, notBefore, notAfter, 0)
	if a.intermediate, err = createCert(inter, a.root, &a.intermediateKey.PublicKey, a.rootKey); err != nil {
		return nil, fmt.Errorf("new simulation authority: PCK CA: %w", err)
	}
	leaf, err := pckTemplate(notBefore, notAfter, DefaultTCB)
	if err != nil {
		return nil, fmt.Errorf("new simulation authority: %w", err)
	}
	if a.pck, err = createCert(leaf, a.intermediate, &a.pckKey.PublicKey, a.intermediateKey); err != nil {
		return nil, fmt.Errorf("new simulation authority: PCK certificate: %w", err)
	}
	return a, nil
}

func serialNumber() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return n.Add(n, big.NewInt(1))
}

func caTemplate(cn string, notBefore, notAfter time.Time, maxPathLen int) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber:          serialNumber(),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{organization}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            maxPathLen,
		MaxPathLenZero:        maxPathLen == 0,
	}
}

// pckTemplate builds a PCK leaf with exactly the six extensions Intel's PCK
// certificates have (go-tdx-guest's pcs package requires six): authority and
// subject key IDs, CRL distribution point, key usage, basic constraints, and
// the SGX extensions.
func pckTemplate(notBefore, notAfter time.Time, tcb PlatformTCB) (*x509.Certificate, error) {
	var ppid [16]byte
	if _, err := rand.Read(ppid[:]); err != nil {
		return nil, err
	}
	sgx, err := sgxExtensionValue(ppid, tcb, PCEID, FMSPC)
	if err != nil {
		return nil, fmt.Errorf("SGX extensions: %w", err)
	}
	return &x509.Certificate{
		SerialNumber:          serialNumber(),
		Subject:               pkix.Name{CommonName: PCKCommonName, Organization: []string{organization}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		BasicConstraintsValid: true,
		SubjectKeyId:          []byte("rassh-sim-pck"),
		CRLDistributionPoints: []string{"https://pcs.invalid/sgx/certification/v4/pckcrl?ca=platform&encoding=der"},
		ExtraExtensions:       []pkix.Extension{{Id: oidSGXExtensions, Value: sgx}},
	}, nil
}

func createCert(tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, signer *ecdsa.PrivateKey) (*x509.Certificate, error) {
	if tmpl.SubjectKeyId == nil {
		raw, err := pub.Bytes()
		if err != nil {
			return nil, err
		}
		h := sha256.Sum256(raw)
		tmpl.SubjectKeyId = h[:20]
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// RootPEM returns the simulation root CA certificate in PEM, the file a CA
// configuration names to trust simulated TDs.
func (a *Authority) RootPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.root.Raw})
}

// RootPool returns a pool holding only the simulation root, for
// tdx.Verifier.SimulationRoots.
func (a *Authority) RootPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(a.root)
	return pool
}

// Root, Intermediate and PCK return the chain's certificates.
func (a *Authority) Root() *x509.Certificate         { return a.root }
func (a *Authority) Intermediate() *x509.Certificate { return a.intermediate }
func (a *Authority) PCK() *x509.Certificate          { return a.pck }

// chainPEM is the PCK chain as a quote carries it: leaf, PCK CA, root.
func (a *Authority) chainPEM() []byte {
	var out []byte
	for _, c := range []*x509.Certificate{a.pck, a.intermediate, a.root} {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}
