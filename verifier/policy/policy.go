// Package policy decides whether verified claims meet an operator's rules.
// It runs after authenticity is established (verifier.Claims come only from a
// verifier), and every rejection is a *verifier.PolicyError whose Rule is the
// name of the policy field that failed.
//
// The file format is documented in docs/policy.md.
package policy

import (
	"errors"
	"fmt"
	"slices"

	"github.com/rassh/rassh/internal/boundedfile"
	"github.com/rassh/rassh/internal/yamlconfig"
	"github.com/rassh/rassh/verifier"
)

// MaxFileSize bounds a policy file.
const MaxFileSize = 1 << 20

// Policy is a set of rules over verifier.Claims. Empty lists allow any value,
// unless a field's documentation states otherwise.
type Policy struct {
	// Platforms lists the allowed Claims.Platform values ("tdx", "azure-tdx").
	Platforms []string `json:"platforms,omitempty"`

	// AttestationTypes and ComplianceStatuses are MAA claims
	// (x-ms-attestation-type, x-ms-compliance-status). Claims from local
	// verification carry neither, so a non-empty list rejects them unless
	// MAAClaimsOnly is set.
	AttestationTypes   []string `json:"attestation_types,omitempty"`
	ComplianceStatuses []string `json:"compliance_statuses,omitempty"`
	// MAAClaimsOnly applies AttestationTypes and ComplianceStatuses only to
	// claims whose verifier is MAA.
	MAAClaimsOnly bool `json:"maa_claims_only,omitempty"`

	// RequireCollateral rejects claims without a TCB status and, for local
	// verification, claims whose PCK chain was not checked against the CRLs.
	RequireCollateral bool `json:"require_collateral"`
	// TCBStatuses lists the allowed TCB statuses. It must not be empty while
	// RequireCollateral is set, and it never contains Revoked.
	TCBStatuses []string `json:"tcb_statuses,omitempty"`
	// TCBGracePeriods allows a status that TCBStatuses does not list for a
	// time after the date of the newest TCB level (TCB.NewerLevelDate):
	// Intel's TCB recovery events make whole fleets OutOfDate at once.
	TCBGracePeriods map[string]Duration `json:"tcb_grace_periods,omitempty"`

	// AllowDebug accepts TDs with the DEBUG attribute, whose memory the host can read.
	AllowDebug bool `json:"allow_debug"`
	// AllowSimulated accepts claims from a simulated TD (development only).
	AllowSimulated bool `json:"allow_simulated"`

	// MRTDs is the set of allowed MRTD values, 48 bytes each. On Azure MRTD
	// measures the paravisor and changes with its updates, so list every
	// version the fleet may run.
	MRTDs []Hex `json:"mrtds,omitempty"`
	// RTMRs maps an RTMR index (0 to 3) to its set of allowed values.
	RTMRs map[int][]Hex `json:"rtmrs,omitempty"`
	// MinTEETCBSVN is the minimum TEE TCB SVN (16 bytes), compared byte by byte.
	MinTEETCBSVN Hex `json:"min_tee_tcb_svn,omitempty"`

	// VMConfiguration lists required Azure vm-configuration values. Claims
	// without a vm-configuration (plain TDX) fail when any value is required.
	VMConfiguration *VMConfigurationRule `json:"vm_configuration,omitempty"`
}

// VMConfigurationRule holds required values of the Azure runtime data's
// vm-configuration. A nil field is not checked.
type VMConfigurationRule struct {
	SecureBoot     *bool `json:"secure_boot,omitempty"`
	TPMEnabled     *bool `json:"tpm_enabled,omitempty"`
	ConsoleEnabled *bool `json:"console_enabled,omitempty"`
}

// DefaultCA returns the policy the CA applies when its configuration names
// none: collateral required (a known TCB status and checked CRLs), TCB status
// UpToDate only with no grace period, no debug TDs, no simulated TDs, and any
// measurement.
func DefaultCA() *Policy {
	return &Policy{
		RequireCollateral: true,
		TCBStatuses:       []string{verifier.TCBStatusUpToDate},
	}
}

// Load reads a policy file, YAML or JSON, with Parse.
func Load(path string) (*Policy, error) {
	b, err := boundedfile.Read(path, MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	p, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return p, nil
}

// Parse parses a policy in YAML or JSON. Fields the document omits keep their
// DefaultCA values. Unknown and repeated fields are errors.
func Parse(b []byte) (*Policy, error) {
	p := DefaultCA()
	if err := yamlconfig.Unmarshal(b, p); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// Validate checks that every value in p is well-formed.
func (p *Policy) Validate() error {
	for _, platform := range p.Platforms {
		if platform != verifier.PlatformTDX && platform != verifier.PlatformAzureTDX {
			return fmt.Errorf("policy: platforms: unknown platform %q, expected %q or %q", platform, verifier.PlatformTDX, verifier.PlatformAzureTDX)
		}
	}
	if err := p.validateTCB(); err != nil {
		return err
	}
	for i, m := range p.MRTDs {
		if len(m) != 48 {
			return fmt.Errorf("policy: mrtds[%d]: %d bytes, expected 48", i, len(m))
		}
	}
	for index, values := range p.RTMRs {
		if index < 0 || index > 3 {
			return fmt.Errorf("policy: rtmrs: index %d out of range 0 to 3", index)
		}
		if len(values) == 0 {
			return fmt.Errorf("policy: rtmrs[%d]: empty set, list the allowed values or remove the index", index)
		}
		for i, v := range values {
			if len(v) != 48 {
				return fmt.Errorf("policy: rtmrs[%d][%d]: %d bytes, expected 48", index, i, len(v))
			}
		}
	}
	if p.MinTEETCBSVN != nil && len(p.MinTEETCBSVN) != 16 {
		return fmt.Errorf("policy: min_tee_tcb_svn: %d bytes, expected 16", len(p.MinTEETCBSVN))
	}
	return nil
}

func (p *Policy) validateTCB() error {
	if p.RequireCollateral && len(p.TCBStatuses) == 0 {
		return errors.New("policy: tcb_statuses: empty while require_collateral is true, list the allowed statuses, for example [UpToDate]")
	}
	for _, s := range p.TCBStatuses {
		if err := checkStatusName(s); err != nil {
			return fmt.Errorf("policy: tcb_statuses: %w", err)
		}
	}
	for s, d := range p.TCBGracePeriods {
		if err := checkStatusName(s); err != nil {
			return fmt.Errorf("policy: tcb_grace_periods: %w", err)
		}
		if d <= 0 {
			return fmt.Errorf("policy: tcb_grace_periods: %s: period %s is not positive", s, d)
		}
	}
	return nil
}

// knownStatuses are the TCB statuses a policy may allow. Revoked is not one.
var knownStatuses = []string{
	verifier.TCBStatusUpToDate,
	verifier.TCBStatusSWHardeningNeeded,
	verifier.TCBStatusConfigurationNeeded,
	verifier.TCBStatusConfigurationAndSWHardeningNeeded,
	verifier.TCBStatusOutOfDate,
	verifier.TCBStatusOutOfDateConfigurationNeeded,
	verifier.TCBStatusNoMatch,
}

func checkStatusName(s string) error {
	if s == verifier.TCBStatusRevoked {
		return errors.New("status Revoked can never be allowed")
	}
	if !slices.Contains(knownStatuses, s) {
		return fmt.Errorf("unknown status %q, expected one of %v", s, knownStatuses)
	}
	return nil
}
