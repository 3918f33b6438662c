package tdx

import (
	"context"
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
			verifier.TCB{Status: verifier.TCBStatusUpToDate},
		},
		{
			"../../testdata/dcap-qvl/tdx_quote_outdated.bin", "../../testdata/dcap-qvl/collateral-tdx_quote_outdated",
			time.Date(2026, 2, 19, 0, 0, 0, 0, time.UTC),
			verifier.TCB{Status: verifier.TCBStatusNoMatch},
		},
	}
	for _, tt := range tests {
		v := &Verifier{Collateral: NewDirCollateral(tt.collateral), Now: func() time.Time { return tt.at }}
		c, err := v.VerifyQuote(context.Background(), readFile(t, tt.quote))
		if err != nil {
			t.Fatalf("%s: %v", tt.quote, err)
		}
		t.Logf("%s: %+v", tt.quote, *c.TCB)
	}
}
