package ca

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/ca/catest"
	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/binding"
)

const registeredVM = "5e8b4a3e-1111-2222-3333-444455556666"

// forgedAzureRequest builds azure-tdx evidence from a TD that is not Azure's
// paravisor: runtime data of its own making that names vmID, and a quote
// whose REPORTDATA commits to it.
func forgedAzureRequest(t *testing.T, h *harness, td *catest.TD, vmID string, keys []ssh.PublicKey, token string) error {
	t.Helper()
	nonce := h.challenge()
	v := binding.Enroll(nonce, catest.Blobs(keys), nil, catest.JoinTokenDigest(token))
	runtimeData := []byte(fmt.Sprintf(`{"keys":[],"vm-configuration":{"console-enabled":false,"secure-boot":true,"tpm-enabled":true,"vmUniqueId":%q},"user-data":%q}`,
		strings.ToUpper(vmID), strings.ToUpper(hex.EncodeToString(v[:]))))
	var reportData [64]byte
	digest := sha256.Sum256(runtimeData)
	copy(reportData[:], digest[:])
	quote, err := h.sim.Quote(reportData, td.Config)
	if err != nil {
		t.Fatal(err)
	}
	req, err := td.Request(nonce, keys, nil, token)
	if err != nil {
		t.Fatal(err)
	}
	req.Evidence = verifier.Evidence{Kind: verifier.EvidenceAzureTDX, Quote: quote, RuntimeData: runtimeData}
	_, err = h.enroll(req)
	return err
}

func TestAzureIdentityNeedsParavisorMRTD(t *testing.T) {
	h := newHarness(t)
	h.register(registeredVM, "azvm.example.com")
	k, _ := catest.HostKey()
	err := forgedAzureRequest(t, h, catest.NewTD(h.sim, 0), registeredVM, []ssh.PublicKey{k}, "")

	var ce *Error
	if !errors.As(err, &ce) || ce.Code != CodeNotAuthorized {
		t.Fatalf("forged Azure identity: error %v, want code %s", err, CodeNotAuthorized)
	}
	if _, err := h.store.Host(registeredVM); err == nil {
		t.Fatal("a host record exists for the registered vmUniqueId")
	}
}

func TestAzureIdentityTrustedParavisorMRTD(t *testing.T) {
	h := newHarness(t)
	td := catest.NewTD(h.sim, 0)
	td.Config.MRTD = make([]byte, 48)
	td.Config.MRTD[0] = 0xbb
	h.auth.AzureParavisorMRTDs = [][]byte{td.Config.MRTD}
	h.register(registeredVM, "azvm.example.com")
	k, _ := catest.HostKey()

	if err := forgedAzureRequest(t, h, td, registeredVM, []ssh.PublicKey{k}, ""); err != nil {
		t.Fatalf("enroll with a trusted paravisor MRTD: %v", err)
	}
	if _, err := h.store.Host(registeredVM); err != nil {
		t.Fatalf("host record for %s: %v", registeredVM, err)
	}
}

func TestIdentityRules(t *testing.T) {
	mrtd := make([]byte, 48)
	mrtd[0] = 0xbb
	a := &Authority{AzureParavisorMRTDs: [][]byte{mrtd}}
	azure := func(mutate func(*verifier.Claims)) *verifier.Claims {
		c := &verifier.Claims{Platform: verifier.PlatformAzureTDX, Verifier: verifier.VerifierLocal,
			MRTD: make([]byte, 48), VMUniqueID: "5E8B4A3E-1111-2222-3333-444455556666"}
		mutate(c)
		return c
	}
	cases := []struct {
		name   string
		claims *verifier.Claims
		want   string
	}{
		{"local azure, unknown MRTD", azure(func(*verifier.Claims) {}), ""},
		{"local azure, paravisor MRTD", azure(func(c *verifier.Claims) { c.MRTD = mrtd }), registeredVM},
		{"maa compliant", azure(func(c *verifier.Claims) {
			c.Verifier, c.ComplianceStatus = verifier.VerifierMAA, "azure-compliant-cvm"
		}), registeredVM},
		{"maa not compliant", azure(func(c *verifier.Claims) { c.Verifier = verifier.VerifierMAA }), ""},
		{"vmUniqueId not a GUID", azure(func(c *verifier.Claims) { c.MRTD, c.VMUniqueID = mrtd, "join:abc" }), ""},
		{"plain tdx, no owner values", &verifier.Claims{Platform: verifier.PlatformTDX, MRConfigID: make([]byte, 48)}, ""},
		{"plain tdx, mrconfigid", &verifier.Claims{Platform: verifier.PlatformTDX, MRConfigID: []byte{1}, MROwner: []byte{0}}, "0100"},
	}
	for _, tc := range cases {
		if got := a.Identity(tc.claims); got != tc.want {
			t.Errorf("%s: Identity = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestValidateRegistrationIdentity(t *testing.T) {
	for _, ok := range []string{registeredVM, strings.Repeat("ab", 144)} {
		if err := ValidateRegistrationIdentity(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"id", strings.ToUpper(registeredVM), strings.Repeat("ab", 143), "join:abc", registeredVM + "0"} {
		if err := ValidateRegistrationIdentity(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
