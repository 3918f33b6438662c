package client

import (
	"errors"
	"slices"
	"time"

	"github.com/rassh/rassh/verifier"
)

// DefaultClaimsPolicy is the attestation policy the client applies when no
// policy file is configured: a TDX TD, debug off, not simulated unless
// AllowSimulated, and, when the verifier knew the TCB status, one of
// AllowedTCBStatuses. It does not pin measurements: Azure's MRTD measures
// the paravisor and changes with its updates.
type DefaultClaimsPolicy struct {
	// AllowSimulated accepts claims from a simulated TD (development only).
	AllowSimulated bool
	// AllowedTCBStatuses lists the accepted TCB statuses. Nil means
	// UpToDate and SWHardeningNeeded.
	AllowedTCBStatuses []string
}

// Check reports the first rule c breaks as a *verifier.PolicyError.
func (p DefaultClaimsPolicy) Check(c *verifier.Claims, _ time.Time) error {
	if c.TEE != "tdx" {
		return &verifier.PolicyError{Rule: "tee", Value: c.TEE, Err: errors.New("not a TDX TD")}
	}
	if c.Debug {
		return &verifier.PolicyError{Rule: "debug", Value: "true", Err: errors.New("TD runs in debug mode")}
	}
	if c.Simulated && !p.AllowSimulated {
		return &verifier.PolicyError{Rule: "simulated", Value: "true",
			Err: errors.New("evidence comes from a simulated TD; set allow_simulated only for development")}
	}
	if c.TCB != nil && !slices.Contains(p.allowedTCBStatuses(), c.TCB.Status) {
		return &verifier.PolicyError{Rule: "tcb_status", Value: c.TCB.Status, Err: errors.New("TCB status not allowed")}
	}
	return nil
}

func (p DefaultClaimsPolicy) allowedTCBStatuses() []string {
	if p.AllowedTCBStatuses == nil {
		return []string{verifier.TCBStatusUpToDate, verifier.TCBStatusSWHardeningNeeded}
	}
	return p.AllowedTCBStatuses
}
