package tdx

import (
	"context"
	"os"
	"testing"
	"time"
)

// realQuotes are quotes recorded from real TDX hardware, with a time inside
// the validity of each PCK chain.
var realQuotes = []struct {
	path    string
	version int
	at      time.Time
}{
	{"../../testdata/go-tdx-guest/tdx_prod_quote_SPR_E4.dat", 4, time.Date(2023, 7, 1, 0, 0, 0, 0, time.UTC)},
	{"../../testdata/go-tdx-guest/cos-113-tdx-quote.dat", 4, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
	{"../../testdata/go-tdx-guest/quote_v5_sample.dat", 5, time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC)},
	{"../../testdata/dcap-qvl/tdx_quote.bin", 4, time.Date(2025, 6, 20, 0, 0, 0, 0, time.UTC)},
	{"../../testdata/dcap-qvl/tdx_quote_outdated.bin", 5, time.Date(2026, 2, 19, 0, 0, 0, 0, time.UTC)},
	{"../../testdata/ita-aztdx/azure_td_quote.bin", 0, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
	{"../../testdata/seed-prior-work/azure-tdvm-quote-v4.bin", 4, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRealQuotesVerify(t *testing.T) {
	for _, rq := range realQuotes {
		t.Run(rq.path, func(t *testing.T) {
			v := &Verifier{Now: func() time.Time { return rq.at }}
			c, err := v.VerifyQuote(context.Background(), readFile(t, rq.path))
			if err != nil {
				t.Fatalf("VerifyQuote: %v", err)
			}
			t.Logf("version %d mrtd %x simulated %v", c.QuoteVersion, c.MRTD[:8], c.Simulated)
		})
	}
}
