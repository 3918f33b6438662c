package tdx

import (
	"context"
	"crypto/x509"
	"errors"
	"time"

	"github.com/rassh/rassh/verifier"
)

// Collateral is Intel PCS collateral for one platform, as PCS serves it.
type Collateral struct {
	// TCBInfo is the body of GET /tdx/certification/v4/tcb:
	// {"tcbInfo":{...},"signature":"<hex r||s>"}.
	TCBInfo []byte
	// TCBInfoIssuerChain is the PEM TCB signing certificate and root.
	TCBInfoIssuerChain []byte
	// QEIdentity is the body of GET /tdx/certification/v4/qe/identity.
	QEIdentity []byte
	// QEIdentityIssuerChain is the PEM TCB signing certificate and root.
	QEIdentityIssuerChain []byte
	// PCKCRL is the PCK CRL (DER or PEM) of the PCK certificate's issuer.
	PCKCRL []byte
	// PCKCRLIssuerChain is the PEM PCK CA certificate and root.
	PCKCRLIssuerChain []byte
	// RootCRL is the Intel SGX Root CA CRL (DER or PEM).
	RootCRL []byte
}

// evaluateCollateral checks revocation and evaluates the TCB status.
func (v *Verifier) evaluateCollateral(ctx context.Context, q *quote, chain *pckChain, roots *x509.CertPool, now time.Time) (*verifier.TCB, error) {
	// TODO: replaced by the TCB evaluation.
	return nil, &verifier.UndecidedError{Op: "evaluate collateral", Err: errors.New("not implemented yet")}
}
