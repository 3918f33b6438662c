package policy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/local"
	"github.com/rassh/rassh/verifier/tdx"
)

var checkTime = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// itaClaims verifies the real Azure evidence recorded by the Intel Trust
// Authority client (no collateral, so TCB is nil).
func itaClaims(t *testing.T) *verifier.Claims {
	t.Helper()
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "ita-aztdx", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b := &local.Backend{Quotes: &tdx.Verifier{Now: func() time.Time { return checkTime }}}
	c, err := b.Verify(context.Background(), verifier.Evidence{
		Kind:        verifier.EvidenceAzureTDX,
		Quote:       read("azure_td_quote.bin"),
		RuntimeData: read("azure_runtime_data.json"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func examplePolicy(t *testing.T) *Policy {
	t.Helper()
	p, err := Load(filepath.Join("..", "..", "deploy", "ca-policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func withTCB(status string, crlChecked bool) func(*verifier.Claims) {
	return func(c *verifier.Claims) {
		c.TCB = &verifier.TCB{
			Status:         status,
			Date:           time.Date(2024, 3, 13, 0, 0, 0, 0, time.UTC),
			CRLChecked:     crlChecked,
			NewerLevelDate: time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC),
		}
	}
}

func TestCheckExamplePolicy(t *testing.T) {
	zero48 := make([]byte, 48)
	cases := []struct {
		name   string
		modify []func(*verifier.Claims)
		want   string // "" for accepted
	}{
		{"no collateral", nil, `policy: require_collateral: claims have no TCB status, verify with collateral`},
		{"up to date", []func(*verifier.Claims){withTCB("UpToDate", true)}, ""},
		{"software hardening", []func(*verifier.Claims){withTCB("SWHardeningNeeded", true)}, ""},
		{"crl not checked", []func(*verifier.Claims){withTCB("UpToDate", false)},
			`policy: require_collateral: the PCK chain was not checked against the CRLs (value "UpToDate")`},
		{"out of date in grace", []func(*verifier.Claims){withTCB("OutOfDate", true)}, ""},
		{"configuration needed", []func(*verifier.Claims){withTCB("ConfigurationNeeded", true)},
			`policy: tcb_statuses: TCB status not allowed, allowed: [UpToDate SWHardeningNeeded] (value "ConfigurationNeeded")`},
		{"revoked", []func(*verifier.Claims){withTCB("Revoked", true)},
			`policy: tcb_statuses: a revoked TCB is never allowed (value "Revoked")`},
		{"simulated", []func(*verifier.Claims){withTCB("UpToDate", true), func(c *verifier.Claims) { c.Simulated = true }},
			`policy: allow_simulated: claims come from a simulated TD, which the policy does not allow (value "true")`},
		{"plain tdx", []func(*verifier.Claims){withTCB("UpToDate", true), func(c *verifier.Claims) { c.Platform = verifier.PlatformTDX }},
			`policy: platforms: platform not allowed, allowed: [azure-tdx] (value "tdx")`},
		{"debug", []func(*verifier.Claims){withTCB("UpToDate", true), func(c *verifier.Claims) { c.Debug = true; c.TDAttributes[0] = 1 }},
			`policy: allow_debug: the TD has the DEBUG attribute, so the host can read its memory (value "0100000000000000")`},
		{"other mrtd", []func(*verifier.Claims){withTCB("UpToDate", true), func(c *verifier.Claims) { c.MRTD = zero48 }},
			`policy: mrtds: MRTD not in the allowed set (value "` + verifier.HexBytes(zero48).String() + `")`},
		{"rtmr0 extended", []func(*verifier.Claims){withTCB("UpToDate", true), func(c *verifier.Claims) { c.RTMRs[0] = append([]byte{1}, zero48[1:]...) }},
			`policy: rtmrs[0]: RTMR0 not in the allowed set (value "01` + verifier.HexBytes(zero48[1:]).String() + `")`},
		{"rtmr1 not constrained", []func(*verifier.Claims){withTCB("UpToDate", true), func(c *verifier.Claims) { c.RTMRs[1] = append([]byte{1}, zero48[1:]...) }}, ""},
		{"older tdx module", []func(*verifier.Claims){withTCB("UpToDate", true), func(c *verifier.Claims) {
			c.TEETCBSVN = verifier.HexBytes(mustHex(t, "03020700000000000000000000000000"))
		}},
			`policy: min_tee_tcb_svn: component 0 is 3, below the minimum 4 (value "03020700000000000000000000000000")`},
		{"secure boot off", []func(*verifier.Claims){withTCB("UpToDate", true), func(c *verifier.Claims) { c.VMConfiguration.SecureBoot = false }},
			`policy: vm_configuration.secure_boot: the policy requires true (value "false")`},
		{"tpm off", []func(*verifier.Claims){withTCB("UpToDate", true), func(c *verifier.Claims) { c.VMConfiguration.TPMEnabled = false }},
			`policy: vm_configuration.tpm_enabled: the policy requires true (value "false")`},
		{"maa wrong type", []func(*verifier.Claims){withTCB("UpToDate", false), maa("sevsnpvm", "azure-compliant-cvm")},
			`policy: attestation_types: attestation type not allowed, allowed: [tdxvm] (value "sevsnpvm")`},
		{"maa not compliant", []func(*verifier.Claims){withTCB("UpToDate", false), maa("tdxvm", "")},
			`policy: compliance_statuses: compliance status not allowed, allowed: [azure-compliant-cvm]`},
		{"maa compliant", []func(*verifier.Claims){withTCB("UpToDate", false), maa("tdxvm", "azure-compliant-cvm")}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			claims := itaClaims(t)
			for _, m := range c.modify {
				m(claims)
			}
			err := examplePolicy(t).Check(claims, checkTime)
			assertPolicyError(t, err, c.want)
		})
	}
}

func maa(attestationType, compliance string) func(*verifier.Claims) {
	return func(c *verifier.Claims) {
		c.Verifier = verifier.VerifierMAA
		c.AttestationType = attestationType
		c.ComplianceStatus = compliance
	}
}

func assertPolicyError(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("rejected: %v", err)
		}
		return
	}
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant    %s", err, want)
	}
	var pe *verifier.PolicyError
	if !errors.As(err, &pe) {
		t.Fatalf("error %T is not a *verifier.PolicyError", err)
	}
}

func TestCheckGracePeriodEdges(t *testing.T) {
	p := &Policy{
		RequireCollateral: true,
		TCBStatuses:       []string{"UpToDate"},
		TCBGracePeriods:   map[string]Duration{"OutOfDate": Duration(30 * 24 * time.Hour)},
	}
	claims := itaClaims(t)
	withTCB("OutOfDate", true)(claims)
	end := time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC) // 2026-02-10 plus 30 days

	assertPolicyError(t, p.Check(claims, end.Add(-time.Second)), "")
	assertPolicyError(t, p.Check(claims, end),
		`policy: tcb_grace_periods: grace period of 720h0m0s after the TCB level of 2026-02-10T00:00:00Z ended at 2026-03-12T00:00:00Z (value "OutOfDate")`)

	claims.TCB.NewerLevelDate = time.Time{}
	assertPolicyError(t, p.Check(claims, end.Add(-time.Second)),
		`policy: tcb_grace_periods: TCB status not allowed, and no newer TCB level date to start the grace period of 720h0m0s (value "OutOfDate")`)
}

func TestCheckLocalClaimsAndMAARules(t *testing.T) {
	p := &Policy{AttestationTypes: []string{"tdxvm"}}
	err := p.Check(itaClaims(t), checkTime)
	assertPolicyError(t, err,
		`policy: attestation_types: claims from the local verifier carry no attestation type, set maa_claims_only to apply this rule to MAA tokens only`)

	p = &Policy{ComplianceStatuses: []string{"azure-compliant-cvm"}}
	assertPolicyError(t, p.Check(itaClaims(t), checkTime),
		`policy: compliance_statuses: claims from the local verifier carry no compliance status, set maa_claims_only to apply this rule to MAA tokens only`)

	p.MAAClaimsOnly = true
	assertPolicyError(t, p.Check(itaClaims(t), checkTime), "")
}

func TestCheckWithoutCollateral(t *testing.T) {
	// A policy that does not require collateral accepts claims without a TCB
	// status, and still checks a status that is present.
	p := &Policy{TCBStatuses: []string{"UpToDate"}}
	assertPolicyError(t, p.Check(itaClaims(t), checkTime), "")

	claims := itaClaims(t)
	withTCB("OutOfDate", false)(claims)
	assertPolicyError(t, p.Check(claims, checkTime),
		`policy: tcb_statuses: TCB status not allowed, allowed: [UpToDate] (value "OutOfDate")`)
}

func TestCheckVMConfigurationOnPlainTDX(t *testing.T) {
	yes := true
	p := &Policy{VMConfiguration: &VMConfigurationRule{SecureBoot: &yes}}
	claims := itaClaims(t)
	claims.Platform = verifier.PlatformTDX
	claims.VMConfiguration = nil
	assertPolicyError(t, p.Check(claims, checkTime),
		`policy: vm_configuration: claims carry no vm-configuration, which only Azure evidence has (value "tdx")`)
}

func TestCheckDefaultAllowsDebugOnlyWhenSet(t *testing.T) {
	claims := itaClaims(t)
	withTCB("UpToDate", true)(claims)
	claims.Debug = true
	p := DefaultCA()
	if err := p.Check(claims, checkTime); !verifier.IsPolicy(err) {
		t.Fatalf("debug TD under DefaultCA: error = %v, want a policy error", err)
	}
	p.AllowDebug = true
	assertPolicyError(t, p.Check(claims, checkTime), "")
}
