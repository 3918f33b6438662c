package tdx_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/tdx"
	"github.com/rassh/rassh/verifier/tdx/tdxsim"
)

var simNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// simulated returns a simulated quote and a verifier that reads the
// collateral opts describes.
func simulated(t *testing.T, opts tdxsim.CollateralOptions) (*tdxsim.Authority, []byte, *tdx.Verifier) {
	t.Helper()
	a, err := tdxsim.NewAuthority(simNow)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := a.WriteCollateral(dir, simNow, opts); err != nil {
		t.Fatal(err)
	}
	q, err := a.Quote([64]byte{1}, tdxsim.TDConfig{})
	if err != nil {
		t.Fatal(err)
	}
	v := &tdx.Verifier{
		SimulationRoots: a.RootPool(),
		Collateral:      tdx.NewDirCollateral(dir),
		Now:             func() time.Time { return simNow },
	}
	return a, q, v
}

func TestTCBStatusEvaluation(t *testing.T) {
	platform, newer := tdxsim.PlatformLevelDate, tdxsim.NewerLevelDate
	advisory := []string{tdxsim.PlatformAdvisory}
	tests := []struct {
		opts     tdxsim.CollateralOptions
		status   string
		date     time.Time
		newest   time.Time
		advisory []string
	}{
		{tdxsim.CollateralOptions{}, verifier.TCBStatusUpToDate, platform, platform, nil},
		{tdxsim.CollateralOptions{PlatformStatus: "SWHardeningNeeded"}, verifier.TCBStatusSWHardeningNeeded, platform, newer, advisory},
		{tdxsim.CollateralOptions{PlatformStatus: "ConfigurationNeeded"}, verifier.TCBStatusConfigurationNeeded, platform, newer, advisory},
		{tdxsim.CollateralOptions{PlatformStatus: "OutOfDate"}, verifier.TCBStatusOutOfDate, platform, newer, advisory},
		{tdxsim.CollateralOptions{PlatformStatus: "Revoked"}, verifier.TCBStatusRevoked, platform, newer, advisory},
		{tdxsim.CollateralOptions{QEStatus: "OutOfDate"}, verifier.TCBStatusOutOfDate, platform, platform, nil},
		{tdxsim.CollateralOptions{PlatformStatus: "ConfigurationNeeded", QEStatus: "OutOfDate"}, verifier.TCBStatusOutOfDateConfigurationNeeded, platform, newer, advisory},
		{tdxsim.CollateralOptions{PlatformStatus: "SWHardeningNeeded", QEStatus: "OutOfDate"}, verifier.TCBStatusOutOfDate, platform, newer, advisory},
		{tdxsim.CollateralOptions{QEStatus: "Revoked"}, verifier.TCBStatusRevoked, platform, platform, nil},
		{tdxsim.CollateralOptions{ModuleStatus: "OutOfDate"}, verifier.TCBStatusOutOfDate, platform, platform, nil},
		{tdxsim.CollateralOptions{NoMatch: true}, verifier.TCBStatusNoMatch, time.Time{}, newer, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%+v", tt.opts), func(t *testing.T) {
			_, q, v := simulated(t, tt.opts)
			c, err := v.VerifyQuote(context.Background(), q)
			if err != nil {
				t.Fatalf("VerifyQuote: %v", err)
			}
			if c.TCB == nil {
				t.Fatal("TCB = nil")
			}
			if c.TCB.Status != tt.status {
				t.Errorf("Status = %q, want %q", c.TCB.Status, tt.status)
			}
			if !c.TCB.Date.Equal(tt.date) {
				t.Errorf("Date = %v, want %v", c.TCB.Date, tt.date)
			}
			if !c.TCB.NewerLevelDate.Equal(tt.newest) {
				t.Errorf("NewerLevelDate = %v, want %v", c.TCB.NewerLevelDate, tt.newest)
			}
			if !slices.Equal(c.TCB.AdvisoryIDs, tt.advisory) {
				t.Errorf("AdvisoryIDs = %q, want %q", c.TCB.AdvisoryIDs, tt.advisory)
			}
			if !c.TCB.CRLChecked {
				t.Error("CRLChecked = false")
			}
			if !c.Simulated {
				t.Error("Simulated = false")
			}
		})
	}
}

func TestRevokedPCKRejected(t *testing.T) {
	a, q, v := simulated(t, tdxsim.CollateralOptions{RevokePCK: true})
	_, err := v.VerifyQuote(context.Background(), q)
	want := fmt.Sprintf("PCK certificate (serial %x) is on the PCK CRL of %q", a.PCK().SerialNumber, tdxsim.IntermediateCommonName)
	assertCheck(t, err, "pck revoked", want)
}

func TestRevokedPCKCARejected(t *testing.T) {
	a, q, v := simulated(t, tdxsim.CollateralOptions{RevokePCKCA: true})
	_, err := v.VerifyQuote(context.Background(), q)
	want := fmt.Sprintf("PCK CA %q (serial %x) is on the root CA CRL", tdxsim.IntermediateCommonName, a.Intermediate().SerialNumber)
	assertCheck(t, err, "pck revoked", want)
}

func TestExpiredCollateralUndecided(t *testing.T) {
	_, q, v := simulated(t, tdxsim.CollateralOptions{})
	v.Now = func() time.Time { return simNow.Add(31 * 24 * time.Hour) }
	_, err := v.VerifyQuote(context.Background(), q)
	var und *verifier.UndecidedError
	if !errors.As(err, &und) {
		t.Fatalf("err = %v, want *verifier.UndecidedError", err)
	}
	want := "could not decide: check collateral: root CA CRL is valid from 2026-03-01T11:00:00Z until 2026-03-31T12:00:00Z, not at 2026-04-01T12:00:00Z"
	if err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
}

func TestMissingCollateralUndecided(t *testing.T) {
	_, q, v := simulated(t, tdxsim.CollateralOptions{})
	dir := t.TempDir()
	v.Collateral = tdx.NewDirCollateral(dir)
	_, err := v.VerifyQuote(context.Background(), q)
	if !verifier.IsUndecided(err) {
		t.Fatalf("err = %v, want *verifier.UndecidedError", err)
	}
	want := "could not decide: read collateral: " + dir + "/tcbinfo-53494d000000.json does not exist"
	if err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
}

func TestSimulatedCollateralNotTrustedForIntelQuote(t *testing.T) {
	// Collateral signed by a simulation root must not vouch for a quote
	// from Intel's chain, even when the verifier trusts simulation roots.
	a, _, v := simulated(t, tdxsim.CollateralOptions{})
	dir := t.TempDir()
	if err := a.WriteCollateral(dir, dcapTime, tdxsim.CollateralOptions{}); err != nil {
		t.Fatal(err)
	}
	intelFMSPC := []byte{0xb0, 0xc0, 0x6f, 0, 0, 0}
	for _, name := range [][2]string{
		{tdx.TCBInfoFile(tdxsim.FMSPC[:]), tdx.TCBInfoFile(intelFMSPC)},
		{tdx.TCBInfoIssuerChainFile(tdxsim.FMSPC[:]), tdx.TCBInfoIssuerChainFile(intelFMSPC)},
	} {
		if err := os.Rename(filepath.Join(dir, name[0]), filepath.Join(dir, name[1])); err != nil {
			t.Fatal(err)
		}
	}
	v.Collateral = tdx.NewDirCollateral(dir)
	v.Now = func() time.Time { return dcapTime }
	_, err := v.VerifyQuote(context.Background(), mustRead(t, dcapQuote))
	assertCheck(t, err, "collateral", `verify root CA CRL signature with "Intel SGX Root CA": x509: ECDSA verification failure`)
}

func assertCheck(t *testing.T, err error, check, msg string) {
	t.Helper()
	var rej *verifier.RejectedError
	if !errors.As(err, &rej) {
		t.Fatalf("err = %v, want *verifier.RejectedError", err)
	}
	if rej.Check != check {
		t.Errorf("Check = %q, want %q", rej.Check, check)
	}
	if rej.Err.Error() != msg {
		t.Errorf("message = %q\nwant      %q", rej.Err.Error(), msg)
	}
}
