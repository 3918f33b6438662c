package tdx

import (
	"context"
	"testing"
	"time"
)

var (
	v4Seeds = []string{
		"../../testdata/dcap-qvl/tdx_quote.bin",
		"../../testdata/go-tdx-guest/tdx_prod_quote_SPR_E4.dat",
		"../../testdata/go-tdx-guest/cos-113-tdx-quote.dat",
		"../../testdata/ita-aztdx/azure_td_quote.bin",
		"../../testdata/seed-prior-work/azure-tdvm-quote-v4.bin",
	}
	v5Seeds = []string{
		"../../testdata/dcap-qvl/tdx_quote_outdated.bin",
		"../../testdata/go-tdx-guest/quote_v5_sample.dat",
	}
)

// fuzzQuote runs the whole verifier on mutated quotes: it must never panic
// (go-tdx-guest's parser is reached for v4), and every region of a quote that parses
// must have the size the quote format defines.
func fuzzQuote(f *testing.F, seeds []string) {
	for _, path := range seeds {
		f.Add(readFile(f, path))
	}
	v := &Verifier{Now: func() time.Time { return time.Date(2026, 2, 19, 0, 0, 0, 0, time.UTC) }}
	f.Fuzz(func(t *testing.T, raw []byte) {
		q, err := parseQuote(raw)
		if err == nil {
			if len(q.signature) != 64 || len(q.attestKey) != 64 || len(q.qeReport) != 384 || len(q.qeSignature) != 64 {
				t.Fatalf("parsed regions have wrong sizes")
			}
			if len(q.body) != bodyV4Size && len(q.body) != bodyTD15Size {
				t.Fatalf("body is %d bytes", len(q.body))
			}
			if q.signedDataEnd > len(raw) {
				t.Fatalf("signed data ends at %d past %d", q.signedDataEnd, len(raw))
			}
		}
		c, err := v.VerifyQuote(context.Background(), raw)
		if err == nil && c.QuoteVersion != 4 && c.QuoteVersion != 5 {
			t.Fatalf("verified quote version %d", c.QuoteVersion)
		}
	})
}

func FuzzQuoteV4(f *testing.F) { fuzzQuote(f, v4Seeds) }
func FuzzQuoteV5(f *testing.F) { fuzzQuote(f, v5Seeds) }
