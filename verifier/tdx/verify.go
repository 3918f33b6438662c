// Package tdx verifies Intel TDX quotes (v4 and v5) locally: the quote
// signature, the quoting enclave (QE) report, the attestation-key binding and
// the PCK certificate chain up to the Intel SGX Root CA, fully offline. With
// collateral (Intel PCS TCB info, QE identity and CRLs) it also checks
// revocation and reports the TCB status; see TCB.md for the rule.
//
// Quote v4 from Intel's chain is verified by go-tdx-guest v0.3.1. That
// version parses only v4, so quote v5 (TDX 1.5) and quotes from a simulation
// chain go through this package's own parser and signature checks, which
// follow the same steps in the same order.
package tdx

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"time"

	"github.com/rassh/rassh/verifier"
)

// CollateralSource supplies Intel PCS collateral for a platform.
type CollateralSource interface {
	// Collateral returns the collateral for the FMSPC (6 bytes) and the PCK CA
	// ("platform" or "processor"). Failing to fetch it is an
	// *verifier.UndecidedError.
	Collateral(ctx context.Context, fmspc []byte, pckCA string) (*Collateral, error)
}

// Verifier verifies TDX quotes. The zero value verifies against the embedded
// Intel SGX Root CA without collateral.
type Verifier struct {
	// TrustedRoots anchors PCK chains. Nil means the embedded Intel SGX Root CA.
	TrustedRoots *x509.CertPool
	// SimulationRoots anchors simulated TDs (package tdxsim). Nil means no
	// simulated quote is accepted. Quotes that chain here get Claims.Simulated.
	SimulationRoots *x509.CertPool
	// Collateral supplies TCB info, QE identity and CRLs. Nil means no
	// collateral: no revocation check, and Claims.TCB is nil.
	Collateral CollateralSource
	// Now is the verification time. Nil means time.Now.
	Now func() time.Time
}

func (v *Verifier) now() time.Time {
	if v.Now == nil {
		return time.Now()
	}
	return v.Now()
}

func (v *Verifier) trustedRoots() *x509.CertPool {
	if v.TrustedRoots == nil {
		return IntelRootPool()
	}
	return v.TrustedRoots
}

// VerifyQuote verifies a raw TDX quote (v4 or v5) and returns its claims.
// Authenticity failures are *verifier.RejectedError whose Check names the
// failed check (see the check* constants); a collateral source that cannot be
// reached gives *verifier.UndecidedError.
func (v *Verifier) VerifyQuote(ctx context.Context, raw []byte) (*verifier.Claims, error) {
	now := v.now()

	q, err := parseQuote(raw)
	if err != nil {
		return nil, err
	}
	chain, err := parsePCKChain(q.pckChainPEM)
	if err != nil {
		return nil, err
	}
	roots := v.trustedRoots()
	if err := chain.anchor(roots, v.SimulationRoots, now); err != nil {
		return nil, err
	}

	// Intel-chained v4 goes through go-tdx-guest; everything else through
	// this package's checks.
	if q.version == quoteVersion4 && !chain.simulated {
		err = verifyV4Library(raw, roots, now)
	} else {
		err = q.verifySignatures(chain.key)
	}
	if err != nil {
		return nil, err
	}

	claims := q.claims(now)
	claims.Simulated = chain.simulated
	digest := sha256.Sum256(raw)
	claims.EvidenceDigest = digest[:]

	if v.Collateral != nil {
		if chain.simulated {
			roots = v.SimulationRoots
		}
		tcb, err := v.evaluateCollateral(ctx, q, chain, roots, now)
		if err != nil {
			return nil, err
		}
		claims.TCB = tcb
	}
	return claims, nil
}

// claims fills the normalized claims from a verified quote.
func (q *quote) claims(now time.Time) *verifier.Claims {
	c := &verifier.Claims{
		TEE:           "tdx",
		Platform:      verifier.PlatformTDX,
		QuoteVersion:  q.version,
		MRTD:          q.field(bodyMRTD, 48),
		MRConfigID:    q.field(bodyMRConfigID, 48),
		MROwner:       q.field(bodyMROwner, 48),
		MROwnerConfig: q.field(bodyMROwnerCfg, 48),
		MRSeam:        q.field(bodyMRSeam, 48),
		TDAttributes:  q.field(bodyTDAttributes, 8),
		XFAM:          q.field(bodyXFAM, 8),
		TEETCBSVN:     q.field(bodyTEETCBSVN, 16),
		ReportData:    q.field(bodyReportData, 64),
		Verifier:      verifier.VerifierLocal,
		VerifiedAt:    now.UTC(),
	}
	for i := range c.RTMRs {
		c.RTMRs[i] = q.field(bodyRTMR0+48*i, 48)
	}
	// TD_ATTRIBUTES bit 0 is DEBUG: the host VMM can read and write the TD.
	c.Debug = c.TDAttributes[0]&1 != 0
	c.UserData = append(verifier.HexBytes(nil), c.ReportData...)
	return c
}
