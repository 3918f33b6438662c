package tdx

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/rassh/rassh/internal/boundedfile"
	"github.com/rassh/rassh/verifier"
)

// Collateral directory layout: one file per Intel PCS response, named by
// what it is for. NewDirCollateral reads it and PCSClient caches in it.
//
//	tcbinfo-<fmspc>.json                PCS body of /tdx/certification/v4/tcb?fmspc=<fmspc>
//	tcbinfo-<fmspc>.issuer-chain.pem    its TCB-Info-Issuer-Chain header, URL-decoded
//	qe-identity.json                    PCS body of /tdx/certification/v4/qe/identity
//	qe-identity.issuer-chain.pem        its SGX-Enclave-Identity-Issuer-Chain header
//	pckcrl-<ca>.der                     PCS body of /sgx/certification/v4/pckcrl?ca=<ca>&encoding=der
//	pckcrl-<ca>.issuer-chain.pem        its SGX-PCK-CRL-Issuer-Chain header
//	rootcrl.der                         the Intel SGX Root CA CRL (IntelSGXRootCA.der)
//
// <fmspc> is 12 lower-case hex digits; <ca> is "platform" or "processor".
// The CRL files may hold DER or PEM.
const (
	QEIdentityFile            = "qe-identity.json"
	QEIdentityIssuerChainFile = "qe-identity.issuer-chain.pem"
	RootCRLFile               = "rootcrl.der"
)

// TCBInfoFile and the functions below name the per-platform files.
func TCBInfoFile(fmspc []byte) string { return "tcbinfo-" + hex.EncodeToString(fmspc) + ".json" }
func TCBInfoIssuerChainFile(fmspc []byte) string {
	return "tcbinfo-" + hex.EncodeToString(fmspc) + ".issuer-chain.pem"
}
func PCKCRLFile(ca string) string            { return "pckcrl-" + ca + ".der" }
func PCKCRLIssuerChainFile(ca string) string { return "pckcrl-" + ca + ".issuer-chain.pem" }

// dirCollateral reads collateral from a directory.
type dirCollateral struct{ dir string }

// NewDirCollateral returns a CollateralSource that reads Intel PCS response
// files from dir, laid out as the constants above describe. A missing file
// is a *verifier.UndecidedError.
func NewDirCollateral(dir string) CollateralSource { return dirCollateral{dir: dir} }

func (d dirCollateral) Collateral(_ context.Context, fmspc []byte, pckCA string) (*Collateral, error) {
	if pckCA != "platform" && pckCA != "processor" {
		return nil, fmt.Errorf("read collateral: PCK CA %q is not platform or processor", pckCA)
	}
	c := &Collateral{}
	for _, f := range c.files(fmspc, pckCA) {
		b, err := readLimited(filepath.Join(d.dir, f.name), f.limit)
		if err != nil {
			return nil, &verifier.UndecidedError{Op: "read collateral", Err: err}
		}
		*f.data = b
	}
	return c, nil
}

// collateralFile is one part of c in the directory layout.
type collateralFile struct {
	name  string
	limit int64
	data  *[]byte
}

func (c *Collateral) files(fmspc []byte, pckCA string) []collateralFile {
	return []collateralFile{
		{TCBInfoFile(fmspc), maxCollateralJSON, &c.TCBInfo},
		{TCBInfoIssuerChainFile(fmspc), maxIssuerChain, &c.TCBInfoIssuerChain},
		{QEIdentityFile, maxCollateralJSON, &c.QEIdentity},
		{QEIdentityIssuerChainFile, maxIssuerChain, &c.QEIdentityIssuerChain},
		{PCKCRLFile(pckCA), maxCRL, &c.PCKCRL},
		{PCKCRLIssuerChainFile(pckCA), maxIssuerChain, &c.PCKCRLIssuerChain},
		{RootCRLFile, maxCRL, &c.RootCRL},
	}
}

// readLimited reads a file of at most limit bytes.
func readLimited(path string, limit int64) ([]byte, error) {
	b, err := boundedfile.Read(path, limit)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist", path)
	}
	return b, err
}
