package tdx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/rassh/rassh/verifier"
)

// realQuotes are quotes recorded from real TDX hardware, each verified at a
// time inside its PCK chain's validity, with the values their provenance
// notes record.
var realQuotes = []struct {
	path       string
	at         time.Time
	version    int
	mrtd       string
	attributes string
	xfam       string
	zeroRTMRs  bool
}{
	{"../../testdata/go-tdx-guest/tdx_prod_quote_SPR_E4.dat", time.Date(2023, 7, 1, 0, 0, 0, 0, time.UTC), 4,
		"6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc00b8dcd404bc10d5e119d7215cbb", "0000004000000000", "e71a060000000000", false},
	{"../../testdata/go-tdx-guest/cos-113-tdx-quote.dat", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), 4,
		"dae67181d3d65e073ad8f95b7907d5e927bfe9761c9ff3e9b89734a45d8954dba41394c7717cb2735396c1d04231f94a", "0000001000000000", "e700060000000000", false},
	{"../../testdata/go-tdx-guest/quote_v5_sample.dat", time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC), 5,
		"7348651a34b2d2d3462822e3a750ec6110125f36757c78480bbfc69cc0d21fb001a1ced3ee19747dda8f750c3bc8f876", "0000001000000000", "e702060000000000", false},
	{"../../testdata/dcap-qvl/tdx_quote.bin", time.Date(2025, 6, 20, 0, 0, 0, 0, time.UTC), 4,
		"91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7", "0000001000000000", "e702060000000000", false},
	{"../../testdata/dcap-qvl/tdx_quote_outdated.bin", time.Date(2026, 2, 19, 0, 0, 0, 0, time.UTC), 5,
		"273828c46252fcbdd8ad2dd907130222b03466d52a2911d70c1a5950895d6bd1ae451d382d5a9b1b4c0ed0e5ae9a3dbd", "0000001000000000", "e718060000000000", true},
	{"../../testdata/ita-aztdx/azure_td_quote.bin", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), 4,
		"bb379f8e734a755832509f61403f99db2258a70a01e1172a499d6d364101b0675455b4e372a35c1f006541f2de0d7154", "0000000000000000", "e718060000000000", true},
	{"../../testdata/seed-prior-work/azure-tdvm-quote-v4.bin", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), 4,
		"b4f3e2748d800711d81fa75d5b4fee1ef309332174b24e067c9a8816873a49e3c19579a1ca6d3ccfa26ccd4bb6fc17bb", "0000000000000000", "e718060000000000", true},
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
			raw := readFile(t, rq.path)
			v := &Verifier{Now: func() time.Time { return rq.at }}
			c, err := v.VerifyQuote(context.Background(), raw)
			if err != nil {
				t.Fatalf("VerifyQuote: %v", err)
			}
			if c.QuoteVersion != rq.version {
				t.Errorf("QuoteVersion = %d, want %d", c.QuoteVersion, rq.version)
			}
			if c.MRTD.String() != rq.mrtd {
				t.Errorf("MRTD = %s, want %s", c.MRTD, rq.mrtd)
			}
			if c.TDAttributes.String() != rq.attributes || c.Debug {
				t.Errorf("TDAttributes = %s, Debug = %v, want %s and false", c.TDAttributes, c.Debug, rq.attributes)
			}
			if c.XFAM.String() != rq.xfam {
				t.Errorf("XFAM = %s, want %s", c.XFAM, rq.xfam)
			}
			// Azure measures the guest into vTPM PCRs and leaves every RTMR
			// zero; the other TDs extend at least RTMR0.
			for i, r := range c.RTMRs {
				if rq.zeroRTMRs && !bytes.Equal(r, make([]byte, 48)) {
					t.Errorf("RTMR%d = %s, want zero", i, r)
				}
			}
			if !rq.zeroRTMRs && bytes.Equal(c.RTMRs[0], make([]byte, 48)) {
				t.Error("RTMR0 is zero")
			}
			digest := sha256.Sum256(raw)
			if !bytes.Equal(c.EvidenceDigest, digest[:]) {
				t.Errorf("EvidenceDigest = %s", c.EvidenceDigest)
			}
			if c.Simulated || c.TCB != nil || c.Verifier != verifier.VerifierLocal || !c.VerifiedAt.Equal(rq.at) {
				t.Errorf("Simulated %v, TCB %v, Verifier %q, VerifiedAt %v", c.Simulated, c.TCB, c.Verifier, c.VerifiedAt)
			}
			if !bytes.Equal(c.UserData, c.ReportData) || len(c.ReportData) != 64 {
				t.Errorf("UserData = %s, ReportData = %s", c.UserData, c.ReportData)
			}
		})
	}
}

func TestAzureQuoteClaims(t *testing.T) {
	v := &Verifier{Now: func() time.Time { return time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC) }}
	c, err := v.VerifyQuote(context.Background(), readFile(t, "../../testdata/ita-aztdx/azure_td_quote.bin"))
	if err != nil {
		t.Fatal(err)
	}
	// REPORTDATA[0:32] is SHA-256 of the runtime data, [32:64] zero.
	runtimeData := sha256.Sum256(readFile(t, "../../testdata/ita-aztdx/azure_runtime_data.json"))
	want := hex.EncodeToString(runtimeData[:]) + hex.EncodeToString(make([]byte, 32))
	if c.ReportData.String() != want {
		t.Errorf("ReportData = %s, want %s", c.ReportData, want)
	}
	if got := c.TEETCBSVN.String(); got != "04010700000000000000000000000000" {
		t.Errorf("TEETCBSVN = %s", got)
	}
	if c.Platform != verifier.PlatformTDX {
		t.Errorf("Platform = %q, want %q (the Azure backend sets azure-tdx)", c.Platform, verifier.PlatformTDX)
	}
}

// TestRealQuoteOutsidePCKValidity verifies the ITA quote at the second its
// PCK certificate expires (notAfter 2031-05-17, per its provenance) and after.
func TestRealQuoteOutsidePCKValidity(t *testing.T) {
	raw := readFile(t, "../../testdata/ita-aztdx/azure_td_quote.bin")
	q, err := parseQuote(raw)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := parsePCKChain(q.pckChainPEM)
	if err != nil {
		t.Fatal(err)
	}
	notAfter := chain.leaf.NotAfter
	v := &Verifier{Now: func() time.Time { return notAfter }}
	if _, err := v.VerifyQuote(context.Background(), raw); err != nil {
		t.Fatalf("at notAfter: %v", err)
	}
	v.Now = func() time.Time { return notAfter.Add(time.Second) }
	_, err = v.VerifyQuote(context.Background(), raw)
	assertRejected(t, err, checkChain, `verify PCK chain of "Intel SGX PCK Certificate" at `+notAfter.Add(time.Second).Format(time.RFC3339)+
		`: x509: certificate has expired or is not yet valid: current time `+notAfter.Add(time.Second).Format(time.RFC3339)+` is after `+notAfter.Format(time.RFC3339))
}
