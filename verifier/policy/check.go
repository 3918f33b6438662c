package policy

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/rassh/rassh/verifier"
)

// Check returns nil when c meets p at time now, and otherwise a
// *verifier.PolicyError for the first rule that fails. The rules run in this
// order: simulated, platform, debug, collateral and TCB status, MAA claims,
// measurements, TEE TCB SVN, vm-configuration.
func (p *Policy) Check(c *verifier.Claims, now time.Time) error {
	checks := []func(*verifier.Claims, time.Time) error{
		p.checkSimulated,
		p.checkPlatform,
		p.checkDebug,
		p.checkTCB,
		p.checkMAAClaims,
		p.checkMeasurements,
		p.checkTEETCBSVN,
		p.checkVMConfiguration,
	}
	for _, check := range checks {
		if err := check(c, now); err != nil {
			return err
		}
	}
	return nil
}

func reject(rule, value, format string, args ...any) error {
	return &verifier.PolicyError{Rule: rule, Value: value, Err: fmt.Errorf(format, args...)}
}

func (p *Policy) checkSimulated(c *verifier.Claims, _ time.Time) error {
	if c.Simulated && !p.AllowSimulated {
		return reject("allow_simulated", "true", "claims come from a simulated TD, which the policy does not allow")
	}
	return nil
}

func (p *Policy) checkPlatform(c *verifier.Claims, _ time.Time) error {
	if len(p.Platforms) > 0 && !slices.Contains(p.Platforms, c.Platform) {
		return reject("platforms", c.Platform, "platform not allowed, allowed: %v", p.Platforms)
	}
	return nil
}

func (p *Policy) checkDebug(c *verifier.Claims, _ time.Time) error {
	if c.Debug && !p.AllowDebug {
		return reject("allow_debug", c.TDAttributes.String(), "the TD has the DEBUG attribute, so the host can read its memory")
	}
	return nil
}

// checkTCB applies require_collateral, tcb_statuses and tcb_grace_periods.
// Without a TCB status and without require_collateral there is nothing to check.
func (p *Policy) checkTCB(c *verifier.Claims, now time.Time) error {
	if c.TCB == nil {
		if p.RequireCollateral {
			return reject("require_collateral", "", "claims have no TCB status, verify with collateral")
		}
		return nil
	}
	// MAA checks CRLs itself, so only local verification records the check.
	if p.RequireCollateral && !c.TCB.CRLChecked && c.Verifier != verifier.VerifierMAA {
		return reject("require_collateral", c.TCB.Status, "the PCK chain was not checked against the CRLs")
	}
	if c.TCB.Status == verifier.TCBStatusRevoked {
		return reject("tcb_statuses", c.TCB.Status, "a revoked TCB is never allowed")
	}
	if len(p.TCBStatuses) == 0 || slices.Contains(p.TCBStatuses, c.TCB.Status) {
		return nil
	}
	grace, ok := p.TCBGracePeriods[c.TCB.Status]
	if !ok {
		return reject("tcb_statuses", c.TCB.Status, "TCB status not allowed, allowed: %v", p.TCBStatuses)
	}
	return checkGrace(c.TCB, grace, now)
}

// checkGrace allows a status until the grace period after the newest TCB
// level's date has passed.
func checkGrace(tcb *verifier.TCB, grace Duration, now time.Time) error {
	rule := "tcb_grace_periods"
	if tcb.NewerLevelDate.IsZero() {
		return reject(rule, tcb.Status, "TCB status not allowed, and no newer TCB level date to start the grace period of %s", grace)
	}
	end := tcb.NewerLevelDate.Add(time.Duration(grace))
	if !now.Before(end) {
		return reject(rule, tcb.Status, "grace period of %s after the TCB level of %s ended at %s",
			grace, tcb.NewerLevelDate.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	}
	return nil
}

// checkMAAClaims applies attestation_types and compliance_statuses.
func (p *Policy) checkMAAClaims(c *verifier.Claims, _ time.Time) error {
	if p.MAAClaimsOnly && c.Verifier != verifier.VerifierMAA {
		return nil
	}
	if err := checkMAAClaim("attestation_types", "attestation type", p.AttestationTypes, c.AttestationType, c.Verifier); err != nil {
		return err
	}
	return checkMAAClaim("compliance_statuses", "compliance status", p.ComplianceStatuses, c.ComplianceStatus, c.Verifier)
}

func checkMAAClaim(rule, claimName string, allowed []string, value, verifierName string) error {
	if len(allowed) == 0 || slices.Contains(allowed, value) {
		return nil
	}
	if value == "" && verifierName != verifier.VerifierMAA {
		return reject(rule, "", "claims from the %s verifier carry no %s, set maa_claims_only to apply this rule to MAA tokens only", verifierName, claimName)
	}
	return reject(rule, value, "%s not allowed, allowed: %v", claimName, allowed)
}

func (p *Policy) checkMeasurements(c *verifier.Claims, _ time.Time) error {
	if len(p.MRTDs) > 0 && !containsBytes(p.MRTDs, c.MRTD) {
		return reject("mrtds", c.MRTD.String(), "MRTD not in the allowed set")
	}
	for index := 0; index < 4; index++ {
		allowed, ok := p.RTMRs[index]
		if ok && !containsBytes(allowed, c.RTMRs[index]) {
			return reject("rtmrs["+strconv.Itoa(index)+"]", c.RTMRs[index].String(), "RTMR%d not in the allowed set", index)
		}
	}
	return nil
}

func containsBytes(set []Hex, v []byte) bool {
	return slices.ContainsFunc(set, func(h Hex) bool { return bytes.Equal(h, v) })
}

// checkTEETCBSVN compares each of the 16 SVN components with its minimum.
func (p *Policy) checkTEETCBSVN(c *verifier.Claims, _ time.Time) error {
	if p.MinTEETCBSVN == nil {
		return nil
	}
	if len(c.TEETCBSVN) != len(p.MinTEETCBSVN) {
		return reject("min_tee_tcb_svn", c.TEETCBSVN.String(), "TEE TCB SVN has %d bytes, expected %d", len(c.TEETCBSVN), len(p.MinTEETCBSVN))
	}
	for i, minimum := range p.MinTEETCBSVN {
		if c.TEETCBSVN[i] < minimum {
			return reject("min_tee_tcb_svn", c.TEETCBSVN.String(), "component %d is %d, below the minimum %d", i, c.TEETCBSVN[i], minimum)
		}
	}
	return nil
}

func (p *Policy) checkVMConfiguration(c *verifier.Claims, _ time.Time) error {
	r := p.VMConfiguration
	if r == nil || (r.SecureBoot == nil && r.TPMEnabled == nil && r.ConsoleEnabled == nil) {
		return nil
	}
	if c.VMConfiguration == nil {
		return &verifier.PolicyError{Rule: "vm_configuration", Value: c.Platform,
			Err: errors.New("claims carry no vm-configuration, which only Azure evidence has")}
	}
	fields := []struct {
		rule string
		want *bool
		got  bool
	}{
		{"vm_configuration.secure_boot", r.SecureBoot, c.VMConfiguration.SecureBoot},
		{"vm_configuration.tpm_enabled", r.TPMEnabled, c.VMConfiguration.TPMEnabled},
		{"vm_configuration.console_enabled", r.ConsoleEnabled, c.VMConfiguration.ConsoleEnabled},
	}
	for _, f := range fields {
		if f.want != nil && *f.want != f.got {
			return reject(f.rule, strconv.FormatBool(f.got), "the policy requires %t", *f.want)
		}
	}
	return nil
}
