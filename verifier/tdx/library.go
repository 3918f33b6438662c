package tdx

import (
	"crypto/x509"
	"errors"
	"strings"
	"time"

	"github.com/google/go-tdx-guest/abi"
	gtverify "github.com/google/go-tdx-guest/verify"

	"github.com/rassh/rassh/verifier"
)

// verifyV4Library verifies a quote v4 with go-tdx-guest: the PCK chain, the
// quote signature, the QE report signature and the attestation-key hash.
// parseQuote must have accepted raw first: go-tdx-guest v0.3.1's parser
// slices without bounds checks in places and would panic on some input that
// parseQuote rejects.
//
// Collateral is not passed to the library, because v0.3.1 fetches it over
// the network itself and fails every TCB status but UpToDate; this package
// evaluates collateral itself.
func verifyV4Library(raw []byte, roots *x509.CertPool, now time.Time) error {
	q, err := abi.QuoteToProto(raw)
	if err != nil {
		return verifier.Reject(checkFormat, "parse quote v4: %v", err)
	}
	// TrustedRoots is always set: with nil the library logs a warning to
	// standard output.
	err = gtverify.TdxQuote(q, &gtverify.Options{TrustedRoots: roots, Now: now})
	if err == nil {
		return nil
	}
	return &verifier.RejectedError{Check: libraryCheck(err), Err: err}
}

// libraryCheck maps a go-tdx-guest v0.3.1 error to a check name. The library
// exports sentinels for two failures and wraps the others with %v, so the
// rest are told apart by the message prefixes of that version.
func libraryCheck(err error) string {
	msg := err.Error()
	switch {
	case errors.Is(err, gtverify.ErrHashVerificationFail),
		strings.HasPrefix(msg, "attestation key in the quote is invalid"):
		return checkQuoteSignature
	case strings.HasPrefix(msg, "error verifying QE report signature"):
		return checkQESignature
	case strings.HasPrefix(msg, "error verifying QE report data"):
		return checkAttestationKeyHash
	}
	return checkChain
}
