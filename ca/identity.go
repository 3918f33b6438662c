package ca

import (
	"bytes"
	"encoding/hex"
	"strings"

	"github.com/rassh/rassh/verifier"
)

// Identity returns the attested host identity of verified claims, or "" when
// the evidence carries none:
//
//   - on Azure, the vmUniqueId from the runtime data the quote commits to, in
//     lower case;
//   - on plain TDX, hex(MRCONFIGID || MROWNER || MROWNERCONFIG) in lower case,
//     unless all three are zero (the VM owner set none of them at launch).
func Identity(c *verifier.Claims) string {
	if c.Platform == verifier.PlatformAzureTDX {
		id := c.VMUniqueID
		if id == "" && c.VMConfiguration != nil {
			id = c.VMConfiguration.VMUniqueID
		}
		return strings.ToLower(id)
	}
	owner := bytes.Join([][]byte{c.MRConfigID, c.MROwner, c.MROwnerConfig}, nil)
	if len(bytes.Trim(owner, "\x00")) == 0 {
		return ""
	}
	return hex.EncodeToString(owner)
}

// joinIdentity is the identity of a host that enrolled with a join token and
// carries no attested identity.
func joinIdentity(tokenID string) string { return "join:" + tokenID }
