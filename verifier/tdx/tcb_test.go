package tdx

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rassh/rassh/verifier"
)

func TestDcapQvlTCBStatus(t *testing.T) {
	tests := []struct {
		quote, collateral string
		at                time.Time
		want              verifier.TCB
	}{
		{
			"../../testdata/dcap-qvl/tdx_quote.bin", "../../testdata/dcap-qvl/collateral-tdx_quote",
			time.Date(2025, 6, 20, 0, 0, 0, 0, time.UTC),
			verifier.TCB{
				Status: verifier.TCBStatusUpToDate, Date: time.Date(2024, 3, 13, 0, 0, 0, 0, time.UTC),
				CRLChecked: true, NewerLevelDate: time.Date(2024, 3, 13, 0, 0, 0, 0, time.UTC),
			},
		},
		{
			// The PCK certificate records SGX TCB component 8 = 3; every level
			// of this FMSPC 90c06f TCB info requires 5.
			"../../testdata/dcap-qvl/tdx_quote_outdated.bin", "../../testdata/dcap-qvl/collateral-tdx_quote_outdated",
			time.Date(2026, 2, 19, 0, 0, 0, 0, time.UTC),
			verifier.TCB{Status: verifier.TCBStatusNoMatch, CRLChecked: true, NewerLevelDate: time.Date(2024, 11, 13, 0, 0, 0, 0, time.UTC)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.quote, func(t *testing.T) {
			v := &Verifier{Collateral: NewDirCollateral(tt.collateral), Now: func() time.Time { return tt.at }}
			c, err := v.VerifyQuote(context.Background(), readFile(t, tt.quote))
			if err != nil {
				t.Fatalf("VerifyQuote: %v", err)
			}
			assertTCB(t, c.TCB, tt.want)
		})
	}
}

// TestGoTDXGuestCollateral evaluates the SPR quote against Intel's 2023
// responses that go-tdx-guest records. The platform is older than every TCB
// level listed (upstream zeroes the levels' SVNs to reach UpToDate).
func TestGoTDXGuestCollateral(t *testing.T) {
	src := "../../testdata/go-tdx-guest/"
	fmspc := []byte{0x50, 0x80, 0x6f, 0, 0, 0}
	dir := t.TempDir()
	for from, to := range map[string]string{
		"sample_tcbInfo_response.json":    TCBInfoFile(fmspc),
		"tcbinfo_issuer_chain.pem":        TCBInfoIssuerChainFile(fmspc),
		"sample_qeIdentity_response.json": QEIdentityFile,
		"pckcrl.der":                      PCKCRLFile("platform"),
		"pckcrl_issuer_chain.pem":         PCKCRLIssuerChainFile("platform"),
		"rootcrl.der":                     RootCRLFile,
	} {
		if err := os.WriteFile(filepath.Join(dir, to), readFile(t, src+from), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, QEIdentityIssuerChainFile), readFile(t, src+"tcbinfo_issuer_chain.pem"), 0o644); err != nil {
		t.Fatal(err)
	}

	v := &Verifier{Collateral: NewDirCollateral(dir), Now: func() time.Time { return time.Date(2023, 7, 1, 0, 0, 0, 0, time.UTC) }}
	c, err := v.VerifyQuote(context.Background(), readFile(t, src+"tdx_prod_quote_SPR_E4.dat"))
	if err != nil {
		t.Fatalf("VerifyQuote: %v", err)
	}
	assertTCB(t, c.TCB, verifier.TCB{Status: verifier.TCBStatusNoMatch, CRLChecked: true, NewerLevelDate: time.Date(2023, 2, 15, 0, 0, 0, 0, time.UTC)})
}

func assertTCB(t *testing.T, got *verifier.TCB, want verifier.TCB) {
	t.Helper()
	if got == nil {
		t.Fatal("TCB = nil")
	}
	if got.Status != want.Status {
		t.Errorf("Status = %q, want %q", got.Status, want.Status)
	}
	if !got.Date.Equal(want.Date) {
		t.Errorf("Date = %v, want %v", got.Date, want.Date)
	}
	if !got.NewerLevelDate.Equal(want.NewerLevelDate) {
		t.Errorf("NewerLevelDate = %v, want %v", got.NewerLevelDate, want.NewerLevelDate)
	}
	if len(got.AdvisoryIDs) != len(want.AdvisoryIDs) {
		t.Errorf("AdvisoryIDs = %q, want %q", got.AdvisoryIDs, want.AdvisoryIDs)
	}
	if got.CRLChecked != want.CRLChecked {
		t.Errorf("CRLChecked = %v, want %v", got.CRLChecked, want.CRLChecked)
	}
}
