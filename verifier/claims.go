// Package verifier turns attestation evidence (TDX quotes, Azure runtime data)
// and attestation tokens (MAA and rassh JWTs) into verified, normalized Claims,
// and checks claims against a Policy.
//
// Authenticity ("is this evidence genuine") and policy ("does it meet our
// rules") are separate steps with separate error types: *RejectedError and
// *PolicyError. A failure to decide (collateral or a network service
// unreachable) is a third class, *UndecidedError, so callers can choose to fail
// closed or open on purpose.
package verifier

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Verifier names used in Claims.Verifier.
const (
	VerifierLocal = "local" // go-tdx-guest and rassh's own quote v5 code, offline
	VerifierMAA   = "maa"   // a Microsoft Azure Attestation token
	VerifierRassh = "rassh" // a token from the rassh CA's token service
)

// Platform values used in Claims.Platform.
const (
	PlatformTDX      = "tdx"       // REPORTDATA holds the binding value
	PlatformAzureTDX = "azure-tdx" // REPORTDATA commits to runtime data whose user-data holds it
)

// Claims is the normalized result of verifying evidence or a token. Both the
// local backend and the token verifiers fill the same fields, so policy and
// the CA never need to know which produced them.
type Claims struct {
	TEE          string `json:"tee"`      // always "tdx" for now
	Platform     string `json:"platform"` // PlatformTDX or PlatformAzureTDX
	QuoteVersion int    `json:"quote_version,omitempty"`

	MRTD          HexBytes    `json:"mrtd"`
	RTMRs         [4]HexBytes `json:"rtmrs"`
	MRConfigID    HexBytes    `json:"mr_config_id,omitempty"`
	MROwner       HexBytes    `json:"mr_owner,omitempty"`
	MROwnerConfig HexBytes    `json:"mr_owner_config,omitempty"`
	MRSeam        HexBytes    `json:"mr_seam,omitempty"`
	TDAttributes  HexBytes    `json:"td_attributes"`
	Debug         bool        `json:"debug"`
	XFAM          HexBytes    `json:"xfam"`
	TEETCBSVN     HexBytes    `json:"tee_tcb_svn"`
	ReportData    HexBytes    `json:"report_data"`

	// TCB is nil when the verifier had no collateral and so knows no TCB status.
	TCB *TCB `json:"tcb,omitempty"`

	// Azure only: the exact runtime-data JSON the quote commits to, and the
	// fields of it that policy and the CA use.
	RuntimeData     json.RawMessage  `json:"runtime_data,omitempty"`
	VMConfiguration *VMConfiguration `json:"vm_configuration,omitempty"`
	VMUniqueID      string           `json:"vm_unique_id,omitempty"`

	// UserData is the 64-byte binding value the evidence carries: REPORTDATA on
	// plain TDX, runtime data's user-data on Azure.
	UserData HexBytes `json:"user_data"`

	// MAA only. Local verification has no such claims and leaves them empty.
	AttestationType  string `json:"attestation_type,omitempty"`
	ComplianceStatus string `json:"compliance_status,omitempty"`
	PolicyHash       string `json:"policy_hash,omitempty"`

	// Verifier is VerifierLocal, VerifierMAA or VerifierRassh; Issuer is the
	// token issuer when Verifier names a token service.
	Verifier   string    `json:"verifier"`
	Issuer     string    `json:"issuer,omitempty"`
	VerifiedAt time.Time `json:"verified_at"`
	// IssuedAt is the token's iat, zero for local verification.
	IssuedAt time.Time `json:"issued_at,omitempty"`

	// Simulated is true when the quote chains to a simulation root rather than
	// Intel's. Only development and test configurations trust such roots.
	Simulated bool `json:"simulated"`

	// EvidenceDigest is SHA-256 over the quote followed by the runtime data.
	EvidenceDigest HexBytes `json:"evidence_digest,omitempty"`
}

// TCB is the TCB evaluation against Intel collateral.
type TCB struct {
	// Status is one of the TCBStatus* constants.
	Status string `json:"status"`
	// Date is the tcbDate of the matched TCB level; zero when none matched.
	Date        time.Time `json:"date,omitempty"`
	AdvisoryIDs []string  `json:"advisory_ids,omitempty"`
	// CRLChecked is true when the PCK chain was checked against the PCK and root CRLs.
	CRLChecked bool `json:"crl_checked"`
	// NewerLevelDate is the tcbDate of the newest TCB level in the TCB info, so a
	// policy can allow a status for a grace period after it.
	NewerLevelDate time.Time `json:"newer_level_date,omitempty"`
}

// TCB statuses as Intel's TCB info and QE identity name them, plus
// TCBStatusNoMatch when no TCB level matches the platform.
const (
	TCBStatusUpToDate                          = "UpToDate"
	TCBStatusSWHardeningNeeded                 = "SWHardeningNeeded"
	TCBStatusConfigurationNeeded               = "ConfigurationNeeded"
	TCBStatusConfigurationAndSWHardeningNeeded = "ConfigurationAndSWHardeningNeeded"
	TCBStatusOutOfDate                         = "OutOfDate"
	TCBStatusOutOfDateConfigurationNeeded      = "OutOfDateConfigurationNeeded"
	TCBStatusRevoked                           = "Revoked"
	TCBStatusNoMatch                           = "NoMatchingTCBLevel"
)

// VMConfiguration is the Azure runtime data's "vm-configuration" object.
type VMConfiguration struct {
	ConsoleEnabled bool   `json:"console-enabled"`
	SecureBoot     bool   `json:"secure-boot"`
	TPMEnabled     bool   `json:"tpm-enabled"`
	VMUniqueID     string `json:"vmUniqueId"`
}

// HexBytes is a byte string that marshals to JSON as lower-case hex.
type HexBytes []byte

// MarshalJSON encodes b as a hex string.
func (b HexBytes) MarshalJSON() ([]byte, error) { return json.Marshal(hex.EncodeToString(b)) }

// UnmarshalJSON decodes a hex string.
func (b *HexBytes) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("invalid hex string: %w", err)
	}
	*b = v
	return nil
}

// String returns b as lower-case hex.
func (b HexBytes) String() string { return hex.EncodeToString(b) }
