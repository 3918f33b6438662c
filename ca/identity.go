package ca

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"github.com/rassh/rassh/verifier"
)

// maaCompliantCVM is the x-ms-compliance-status MAA gives a TD that runs
// under Azure's paravisor on a compliant Azure confidential VM.
const maaCompliantCVM = "azure-compliant-cvm"

// vmUniqueIDPattern is the GUID form Azure uses for vmUniqueId.
var vmUniqueIDPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Identity returns the attested host identity of verified claims, or "" when
// the evidence carries none that the CA can trust:
//
//   - on Azure, the vmUniqueId (a GUID) from the runtime data the quote
//     commits to, in lower case. The runtime data is written by Azure's
//     paravisor, but any TD can produce a quote over JSON of its own making,
//     so the vmUniqueId counts only when the evidence is known to come from
//     the paravisor: MAA verified it and calls the VM azure-compliant-cvm, or
//     the quote's MRTD is one of a.AzureParavisorMRTDs.
//   - on plain TDX, hex(MRCONFIGID || MROWNER || MROWNERCONFIG) in lower case,
//     unless all three are zero (the VM owner set none of them at launch).
func (a *Authority) Identity(c *verifier.Claims) string {
	if c.Platform == verifier.PlatformAzureTDX {
		return a.azureIdentity(c)
	}
	owner := bytes.Join([][]byte{c.MRConfigID, c.MROwner, c.MROwnerConfig}, nil)
	if len(bytes.Trim(owner, "\x00")) == 0 {
		return ""
	}
	return hex.EncodeToString(owner)
}

func (a *Authority) azureIdentity(c *verifier.Claims) string {
	id := c.VMUniqueID
	if id == "" && c.VMConfiguration != nil {
		id = c.VMConfiguration.VMUniqueID
	}
	id = strings.ToLower(id)
	if !vmUniqueIDPattern.MatchString(id) {
		return ""
	}
	if c.Verifier == verifier.VerifierMAA && c.ComplianceStatus == maaCompliantCVM {
		return id
	}
	for _, mrtd := range a.AzureParavisorMRTDs {
		if len(mrtd) > 0 && bytes.Equal(mrtd, c.MRTD) {
			return id
		}
	}
	return ""
}

// ownerIdentityPattern is hex(MRCONFIGID || MROWNER || MROWNERCONFIG): three
// 48-byte values.
var ownerIdentityPattern = regexp.MustCompile(`^[0-9a-f]{288}$`)

// ValidateRegistrationIdentity returns an error unless id has a form that
// Identity derives: a lower-case GUID (an Azure vmUniqueId) or 288
// lower-case hex digits (MRCONFIGID, MROWNER and MROWNERCONFIG). A
// registration for any other string could never match a host.
func ValidateRegistrationIdentity(id string) error {
	if vmUniqueIDPattern.MatchString(id) || ownerIdentityPattern.MatchString(id) {
		return nil
	}
	return fmt.Errorf("invalid identity %q: expected an Azure vmUniqueId (a GUID such as 5e8b4a3e-1111-2222-3333-444455556666) or 288 hex digits (MRCONFIGID, MROWNER and MROWNERCONFIG)", truncate(id, 80))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// joinIdentity is the identity of a host that enrolled with a join token and
// carries no attested identity.
func joinIdentity(tokenID string) string { return "join:" + tokenID }
