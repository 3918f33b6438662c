package tdx

import (
	"context"
	"testing"
	"time"
)

func benchmarkVerify(b *testing.B, path string, at time.Time, collateral string) {
	raw := readFile(b, path)
	v := &Verifier{Now: func() time.Time { return at }}
	if collateral != "" {
		v.Collateral = NewDirCollateral(collateral)
	}
	for b.Loop() {
		if _, err := v.VerifyQuote(context.Background(), raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyQuoteV4(b *testing.B) {
	benchmarkVerify(b, "../../testdata/dcap-qvl/tdx_quote.bin", time.Date(2025, 6, 20, 0, 0, 0, 0, time.UTC), "")
}

func BenchmarkVerifyQuoteV5(b *testing.B) {
	benchmarkVerify(b, "../../testdata/dcap-qvl/tdx_quote_outdated.bin", time.Date(2026, 2, 19, 0, 0, 0, 0, time.UTC), "")
}

func BenchmarkVerifyQuoteV4Collateral(b *testing.B) {
	benchmarkVerify(b, "../../testdata/dcap-qvl/tdx_quote.bin", time.Date(2025, 6, 20, 0, 0, 0, 0, time.UTC), "../../testdata/dcap-qvl/collateral-tdx_quote")
}
