package token_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/token"
)

// docsRuntime is an Azure runtime-data object as MAA puts it in x-ms-runtime:
// the vm-configuration and user-data of a real Azure TDX CVM.
const docsRuntime = `{"keys":[{"kid":"HCLAkPub","key_ops":["sign"],"kty":"RSA","e":"AQAB","n":"u691ug"}],` +
	`"vm-configuration":{"console-enabled":true,"root-cert-thumbprint":"6nZZnYaJc4KqUZ_yvA-mucFdYNouvlPnITnNMXsHl-0",` +
	`"secure-boot":true,"tpm-enabled":true,"tpm-persisted":true,"vmUniqueId":"D6DA8E8D-5410-4716-A0C7-2FA91EA4A866"},` +
	`"user-data":"CF83E1357EEFB8BDF1542850D66D8007D620E4050B5715DC83F4A921D36CE9CE47D0D13C5D85F2B0FF8318D2877EEC2F63B931BD47417A81A538327AF927DA3E"}`

// tdxVMClaims returns the documented TdxVm claim set, valid at the issuer's
// clock and naming its issuer, with x-ms-runtime set to docsRuntime.
func tdxVMClaims(t *testing.T, li *localIssuer) jwt.MapClaims {
	t.Helper()
	var claims jwt.MapClaims
	if err := json.Unmarshal(readTestdata(t, "maa-docs-claims/tdxvm_token_claims_example_2023-10.json"), &claims); err != nil {
		t.Fatal(err)
	}
	for k, v := range li.claims() {
		if k != "x-ms-attestation-type" {
			claims[k] = v
		}
	}
	claims["x-ms-runtime"] = json.RawMessage(docsRuntime)
	return claims
}

func mustHex(t *testing.T, s string) verifier.HexBytes {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTdxVmClaimsMapped(t *testing.T) {
	li := newLocalIssuer(t)
	c, err := li.verifier().Verify(context.Background(), li.sign(t, tdxVMClaims(t, li), nil), "")
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}

	zero48 := make(verifier.HexBytes, 48)
	strs := []struct{ name, got, want string }{
		{"TEE", c.TEE, "tdx"},
		{"Platform", c.Platform, verifier.PlatformAzureTDX},
		{"Verifier", c.Verifier, verifier.VerifierMAA},
		{"Issuer", c.Issuer, li.url},
		{"AttestationType", c.AttestationType, "tdxvm"},
		{"ComplianceStatus", c.ComplianceStatus, "azure-compliant-cvm"},
		{"PolicyHash", c.PolicyHash, "B56nbp5slhw66peoRYkpdq1WykMkEworvdol08hnMXE"},
		{"VMUniqueID", c.VMUniqueID, "D6DA8E8D-5410-4716-A0C7-2FA91EA4A866"},
	}
	for _, s := range strs {
		if s.got != s.want {
			t.Errorf("%s = %q, want %q", s.name, s.got, s.want)
		}
	}

	bytesFields := []struct {
		name      string
		got, want verifier.HexBytes
	}{
		{"MRTD", c.MRTD, mustHex(t, "5be56d418d33661a6c21da77c9503a07e430b35eb92a0bd042a6b3c4e79b3c82bb1c594e770d0d129a0724669f1e953f")},
		{"MRSeam", c.MRSeam, mustHex(t, "2fd279c16164a93dd5bf373d834328d46008c2b693af9ebb865b08b2ced320c9a89b4869a9fab60fbe9d0c5a5363c656")},
		{"RTMR0", c.RTMRs[0], zero48},
		{"RTMR1", c.RTMRs[1], zero48},
		{"RTMR2", c.RTMRs[2], zero48},
		{"RTMR3", c.RTMRs[3], zero48},
		{"MRConfigID", c.MRConfigID, zero48},
		{"MROwner", c.MROwner, zero48},
		{"MROwnerConfig", c.MROwnerConfig, zero48},
		{"TDAttributes", c.TDAttributes, mustHex(t, "0000000000000000")},
		{"XFAM", c.XFAM, mustHex(t, "e718060000000000")},
		{"TEETCBSVN", c.TEETCBSVN, mustHex(t, "03000600000000000000000000000000")},
		{"ReportData", c.ReportData, mustHex(t, "93c6db49f2318387bcebdad0275e206725d948f9000d900344aa44abaef145960000000000000000000000000000000000000000000000000000000000000000")},
		{"UserData", c.UserData, mustHex(t, "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e")},
	}
	for _, f := range bytesFields {
		if !bytes.Equal(f.got, f.want) {
			t.Errorf("%s = %x, want %x", f.name, f.got, f.want)
		}
	}

	if c.Debug {
		t.Error("Debug = true, want false")
	}
	if c.Simulated {
		t.Error("Simulated = true, want false")
	}
	if c.TCB == nil || c.TCB.Status != verifier.TCBStatusUpToDate {
		t.Errorf("TCB = %+v, want status UpToDate", c.TCB)
	}
	want := verifier.VMConfiguration{ConsoleEnabled: true, SecureBoot: true, TPMEnabled: true, VMUniqueID: "D6DA8E8D-5410-4716-A0C7-2FA91EA4A866"}
	if c.VMConfiguration == nil || *c.VMConfiguration != want {
		t.Errorf("VMConfiguration = %+v, want %+v", c.VMConfiguration, want)
	}
	if string(c.RuntimeData) != docsRuntime {
		t.Errorf("RuntimeData = %s, want %s", c.RuntimeData, docsRuntime)
	}
	if !c.IssuedAt.Equal(testNow) || !c.VerifiedAt.Equal(testNow) {
		t.Errorf("IssuedAt %s VerifiedAt %s, want %s", c.IssuedAt, c.VerifiedAt, testNow)
	}
}

func TestTdxVmDebugSignals(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(c jwt.MapClaims)
		debug bool
	}{
		{"all off", func(jwt.MapClaims) {}, false},
		{"dbgstat enabled", func(c jwt.MapClaims) { c["dbgstat"] = "enabled" }, true},
		{"attributes debug claim", func(c jwt.MapClaims) { c["tdx_td_attributes_debug"] = true }, true},
		{"attributes bit 0", func(c jwt.MapClaims) { c["tdx_td_attributes"] = "0100000000000000" }, true},
		{"no dbgstat", func(c jwt.MapClaims) { delete(c, "dbgstat") }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			li := newLocalIssuer(t)
			claims := tdxVMClaims(t, li)
			tc.edit(claims)
			c, err := li.verifier().Verify(context.Background(), li.sign(t, claims, nil), "")
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.Debug != tc.debug {
				t.Errorf("Debug = %v, want %v", c.Debug, tc.debug)
			}
		})
	}
}

func TestTdxVmMalformedClaims(t *testing.T) {
	tests := []struct {
		name string
		edit func(c jwt.MapClaims)
	}{
		{"short mrtd", func(c jwt.MapClaims) { c["tdx_mrtd"] = "5be56d41" }},
		{"mrtd not hex", func(c jwt.MapClaims) { c["tdx_mrtd"] = strings.Repeat("zz", 48) }},
		{"no mrtd", func(c jwt.MapClaims) { delete(c, "tdx_mrtd") }},
		{"no td attributes", func(c jwt.MapClaims) { delete(c, "tdx_td_attributes") }},
		{"no report data", func(c jwt.MapClaims) { delete(c, "tdx_report_data") }},
		{"long rtmr", func(c jwt.MapClaims) { c["tdx_rtmr2"] = strings.Repeat("00", 49) }},
		{"mrtd a number", func(c jwt.MapClaims) { c["tdx_mrtd"] = 7 }},
		{"unknown dbgstat", func(c jwt.MapClaims) { c["dbgstat"] = "maybe" }},
		{"runtime an array", func(c jwt.MapClaims) { c["x-ms-runtime"] = []int{1} }},
		{"user-data not hex", func(c jwt.MapClaims) { c["x-ms-runtime"] = map[string]string{"user-data": "xyz"} }},
		{"secure-boot a string", func(c jwt.MapClaims) {
			c["x-ms-runtime"] = map[string]any{"vm-configuration": map[string]string{"secure-boot": "true"}}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			li := newLocalIssuer(t)
			claims := tdxVMClaims(t, li)
			tc.edit(claims)
			_, err := li.verifier().Verify(context.Background(), li.sign(t, claims, nil), "")
			wantRejected(t, err, token.CheckClaims)
		})
	}
}

func TestSimulatedClaimMarksClaims(t *testing.T) {
	li := newLocalIssuer(t)
	claims := tdxVMClaims(t, li)
	claims[token.SimulatedClaim] = true
	c, err := li.verifier().Verify(context.Background(), li.sign(t, claims, nil), "")
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !c.Simulated {
		t.Error("Simulated = false, want true")
	}
}

func TestTdxVmTokenAfterLifetime(t *testing.T) {
	li := newLocalIssuer(t)
	raw := li.sign(t, tdxVMClaims(t, li), nil)
	li.clock.Advance(8*time.Hour + 2*time.Minute)
	v := li.verifier()
	v.MaxAge = 24 * time.Hour
	_, err := v.Verify(context.Background(), raw, "")
	wantRejected(t, err, token.CheckExpired)
}
