package token

import (
	"encoding/hex"
	"encoding/json"

	"github.com/rassh/rassh/verifier"
)

// AttestationTypeTdxVM is MAA's x-ms-attestation-type for an Azure TDX CVM.
const AttestationTypeTdxVM = "tdxvm"

// SimulatedClaim marks a token from rassh's MAA emulator (maatest) for a
// quote that chains to a simulation root. Real MAA never sets it; when set it
// makes Claims.Simulated true, which only makes a token less trusted.
const SimulatedClaim = "x-rassh-simulated"

// maaClaims holds the MAA TdxVm claims rassh reads, as Microsoft documents
// them in "Examples of an attestation token" (TDX section).
type maaClaims struct {
	AttestationType  string          `json:"x-ms-attestation-type"`
	ComplianceStatus string          `json:"x-ms-compliance-status"`
	PolicyHash       string          `json:"x-ms-policy-hash"`
	TCBStatus        string          `json:"attester_tcb_status"`
	DebugStatus      string          `json:"dbgstat"`
	AttributesDebug  bool            `json:"tdx_td_attributes_debug"`
	Runtime          json.RawMessage `json:"x-ms-runtime"`
	Simulated        bool            `json:"x-rassh-simulated"`

	MRTD          string `json:"tdx_mrtd"`
	RTMR0         string `json:"tdx_rtmr0"`
	RTMR1         string `json:"tdx_rtmr1"`
	RTMR2         string `json:"tdx_rtmr2"`
	RTMR3         string `json:"tdx_rtmr3"`
	MRConfigID    string `json:"tdx_mrconfigid"`
	MROwner       string `json:"tdx_mrowner"`
	MROwnerConfig string `json:"tdx_mrownerconfig"`
	MRSeam        string `json:"tdx_mrseam"`
	TDAttributes  string `json:"tdx_td_attributes"`
	XFAM          string `json:"tdx_xfam"`
	TEETCBSVN     string `json:"tdx_tee_tcb_svn"`
	ReportData    string `json:"tdx_report_data"`
}

// maaRuntime holds the fields of x-ms-runtime (the runtime-data JSON the
// quote commits to) that policy and the CA use.
type maaRuntime struct {
	VMConfiguration *verifier.VMConfiguration `json:"vm-configuration"`
	UserData        *string                   `json:"user-data"`
}

func mapMAAClaims(payload []byte) (*verifier.Claims, error) {
	var m maaClaims
	if err := json.Unmarshal(payload, &m); err != nil {
		return nil, verifier.Reject(CheckClaims, "read MAA claims: %v", err)
	}
	c := &verifier.Claims{
		Verifier:         verifier.VerifierMAA,
		AttestationType:  m.AttestationType,
		ComplianceStatus: m.ComplianceStatus,
		PolicyHash:       m.PolicyHash,
		Simulated:        m.Simulated,
	}
	// Other attestation types (sgx, azurevm) keep only these claims, and
	// policy rejects them by attestation type.
	if m.AttestationType != AttestationTypeTdxVM {
		return c, nil
	}

	c.TEE = "tdx"
	c.Platform = verifier.PlatformAzureTDX
	if err := m.decodeMeasurements(c); err != nil {
		return nil, err
	}
	if err := m.decodeDebug(c); err != nil {
		return nil, err
	}
	if m.TCBStatus != "" {
		// NOTE: MAA evaluates the quote against Intel's collateral, CRLs
		// included, before it sets attester_tcb_status; the token itself
		// cannot show that it did.
		c.TCB = &verifier.TCB{Status: m.TCBStatus, CRLChecked: true}
	}
	if err := m.decodeRuntime(c); err != nil {
		return nil, err
	}
	return c, nil
}

// decodeMeasurements decodes the hex claims, each of the size the TDX
// module defines. MRTD, TD attributes and report data are required.
func (m *maaClaims) decodeMeasurements(c *verifier.Claims) error {
	fields := []struct {
		name     string
		value    string
		size     int
		required bool
		into     *verifier.HexBytes
	}{
		{"tdx_mrtd", m.MRTD, 48, true, &c.MRTD},
		{"tdx_rtmr0", m.RTMR0, 48, false, &c.RTMRs[0]},
		{"tdx_rtmr1", m.RTMR1, 48, false, &c.RTMRs[1]},
		{"tdx_rtmr2", m.RTMR2, 48, false, &c.RTMRs[2]},
		{"tdx_rtmr3", m.RTMR3, 48, false, &c.RTMRs[3]},
		{"tdx_mrconfigid", m.MRConfigID, 48, false, &c.MRConfigID},
		{"tdx_mrowner", m.MROwner, 48, false, &c.MROwner},
		{"tdx_mrownerconfig", m.MROwnerConfig, 48, false, &c.MROwnerConfig},
		{"tdx_mrseam", m.MRSeam, 48, false, &c.MRSeam},
		{"tdx_td_attributes", m.TDAttributes, 8, true, &c.TDAttributes},
		{"tdx_xfam", m.XFAM, 8, false, &c.XFAM},
		{"tdx_tee_tcb_svn", m.TEETCBSVN, 16, false, &c.TEETCBSVN},
		{"tdx_report_data", m.ReportData, 64, true, &c.ReportData},
	}
	for _, f := range fields {
		if f.value == "" {
			if f.required {
				return verifier.Reject(CheckClaims, "read MAA claims: no %s claim", f.name)
			}
			continue
		}
		b, err := hex.DecodeString(f.value)
		if err != nil || len(b) != f.size {
			return verifier.Reject(CheckClaims, "read MAA claims: %s is not %d bytes of hex", f.name, f.size)
		}
		*f.into = b
	}
	return nil
}

// decodeDebug sets Debug when any of MAA's three signals marks the TD as
// debuggable: dbgstat, tdx_td_attributes_debug, or bit 0 (DEBUG) of the TD
// attributes.
func (m *maaClaims) decodeDebug(c *verifier.Claims) error {
	switch m.DebugStatus {
	case "", "disabled":
	case "enabled":
		c.Debug = true
	default:
		return verifier.Reject(CheckClaims, "read MAA claims: unknown dbgstat %q", truncate(m.DebugStatus))
	}
	if m.AttributesDebug || c.TDAttributes[0]&1 != 0 {
		c.Debug = true
	}
	return nil
}

// decodeRuntime keeps x-ms-runtime as RuntimeData and reads its
// vm-configuration and user-data. MAA re-serializes the runtime data, so
// RuntimeData is not the byte string the quote's REPORTDATA commits to.
func (m *maaClaims) decodeRuntime(c *verifier.Claims) error {
	if len(m.Runtime) == 0 || string(m.Runtime) == "null" {
		return nil
	}
	var runtime maaRuntime
	if err := json.Unmarshal(m.Runtime, &runtime); err != nil {
		return verifier.Reject(CheckClaims, "read MAA claims: x-ms-runtime: %v", err)
	}
	c.RuntimeData = append(json.RawMessage(nil), m.Runtime...)
	if runtime.VMConfiguration != nil {
		c.VMConfiguration = runtime.VMConfiguration
		c.VMUniqueID = runtime.VMConfiguration.VMUniqueID
	}
	if runtime.UserData != nil {
		b, err := hex.DecodeString(*runtime.UserData)
		if err != nil {
			return verifier.Reject(CheckClaims, "read MAA claims: x-ms-runtime user-data is not hex: %v", err)
		}
		c.UserData = b
	}
	return nil
}
