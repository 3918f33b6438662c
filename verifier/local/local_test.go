package local

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/binding"
	"github.com/rassh/rassh/verifier/tdx"
	"github.com/rassh/rassh/verifier/tdx/tdxsim"
)

// azureTime lies inside the PCK validity of both real Azure quotes
// (2024-05-17 to 2031-05-17).
var azureTime = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func readTestdata(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func azureBackend() *Backend {
	return &Backend{Quotes: &tdx.Verifier{Now: func() time.Time { return azureTime }}}
}

func TestVerifyAzureITA(t *testing.T) {
	quote := readTestdata(t, "ita-aztdx/azure_td_quote.bin")
	runtimeData := readTestdata(t, "ita-aztdx/azure_runtime_data.json")
	c, err := azureBackend().Verify(context.Background(), verifier.Evidence{
		Kind: verifier.EvidenceAzureTDX, Quote: quote, RuntimeData: runtimeData,
	})
	if err != nil {
		t.Fatal(err)
	}

	if c.Platform != verifier.PlatformAzureTDX || c.TEE != "tdx" || c.QuoteVersion != 4 {
		t.Errorf("platform %q, tee %q, quote version %d", c.Platform, c.TEE, c.QuoteVersion)
	}
	wantMRTD := "bb379f8e734a755832509f61403f99db2258a70a01e1172a499d6d364101b0675455b4e372a35c1f006541f2de0d7154"
	if c.MRTD.String() != wantMRTD {
		t.Errorf("MRTD = %s, want %s", c.MRTD, wantMRTD)
	}
	for i, rtmr := range c.RTMRs {
		if !bytes.Equal(rtmr, make([]byte, 48)) {
			t.Errorf("RTMR%d = %s, want zero", i, rtmr)
		}
	}
	wantVM := verifier.VMConfiguration{ConsoleEnabled: true, SecureBoot: true, TPMEnabled: true, VMUniqueID: "D6DA8E8D-5410-4716-A0C7-2FA91EA4A866"}
	if c.VMConfiguration == nil || *c.VMConfiguration != wantVM {
		t.Errorf("vm-configuration = %+v, want %+v", c.VMConfiguration, wantVM)
	}
	if c.VMUniqueID != wantVM.VMUniqueID {
		t.Errorf("VMUniqueID = %q", c.VMUniqueID)
	}
	empty := sha512.Sum512(nil)
	if !bytes.Equal(c.UserData, empty[:]) {
		t.Errorf("user data = %s, want SHA-512 of the empty string", c.UserData)
	}
	if !bytes.Equal(c.RuntimeData, runtimeData) {
		t.Error("runtime data in the claims differs from the input")
	}
	wantDigest := sha256.Sum256(append(bytes.Clone(quote), runtimeData...))
	if !bytes.Equal(c.EvidenceDigest, wantDigest[:]) {
		t.Errorf("evidence digest = %s, want %x", c.EvidenceDigest, wantDigest)
	}
	if c.Debug || c.Simulated || c.TCB != nil || c.Verifier != verifier.VerifierLocal {
		t.Errorf("debug %v, simulated %v, tcb %v, verifier %q", c.Debug, c.Simulated, c.TCB, c.Verifier)
	}
	if !c.VerifiedAt.Equal(azureTime) {
		t.Errorf("verified at %v, want %v", c.VerifiedAt, azureTime)
	}
	if err := verifier.CheckBinding(c, binding.Value(empty)); err != nil {
		t.Errorf("CheckBinding: %v", err)
	}
}

func TestVerifyAzureSeed(t *testing.T) {
	c, err := azureBackend().Verify(context.Background(), verifier.Evidence{
		Kind:        verifier.EvidenceAzureTDX,
		Quote:       readTestdata(t, "seed-prior-work/azure-tdvm-quote-v4.bin"),
		RuntimeData: readTestdata(t, "seed-prior-work/azure-tdvm-hcl-runtime-data.json"),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := sha512.Sum512([]byte("fabian"))
	if !bytes.Equal(c.UserData, want[:]) {
		t.Errorf("user data = %s, want %x", c.UserData, want)
	}
	if c.VMUniqueID != "D2685751-DDE3-4814-A2A2-565A69FE911B" {
		t.Errorf("VMUniqueID = %q", c.VMUniqueID)
	}
}

func TestVerifyAzureWrongRuntimeData(t *testing.T) {
	// The seed runtime data is genuine, but the ITA quote does not commit to it.
	_, err := azureBackend().Verify(context.Background(), verifier.Evidence{
		Kind:        verifier.EvidenceAzureTDX,
		Quote:       readTestdata(t, "ita-aztdx/azure_td_quote.bin"),
		RuntimeData: readTestdata(t, "seed-prior-work/azure-tdvm-hcl-runtime-data.json"),
	})
	want := "rejected: runtime-data: report data[0:32] 18bc34a0c5ac43cb8251644a79690f703323cd270100c2b7085000b843899961 " +
		"is not the sha-256 32accd5a211f291be609e1c6de2aa44e5145f3f21d32175cb6f520a3404e611b of the runtime data"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant    %s", err, want)
	}
}

func TestVerifyAzureTamperedQuote(t *testing.T) {
	quote := readTestdata(t, "ita-aztdx/azure_td_quote.bin")
	quote[48+136] ^= 1 // MRTD
	_, err := azureBackend().Verify(context.Background(), verifier.Evidence{
		Kind: verifier.EvidenceAzureTDX, Quote: quote, RuntimeData: readTestdata(t, "ita-aztdx/azure_runtime_data.json"),
	})
	var rejected *verifier.RejectedError
	if !errors.As(err, &rejected) || rejected.Check != "quote signature" {
		t.Fatalf("error = %v, want a rejection by the quote signature check", err)
	}
}

func TestVerifyPlainTDXSimulated(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	authority, err := tdxsim.NewAuthority(now)
	if err != nil {
		t.Fatal(err)
	}
	want := binding.Connect([]byte("nonce"), []byte("session"), []byte("host key"))
	quote, err := authority.Quote(want, tdxsim.TDConfig{})
	if err != nil {
		t.Fatal(err)
	}
	b := &Backend{Quotes: &tdx.Verifier{SimulationRoots: authority.RootPool(), Now: func() time.Time { return now }}}

	c, err := b.Verify(context.Background(), verifier.Evidence{Kind: verifier.EvidenceTDXQuote, Quote: quote})
	if err != nil {
		t.Fatal(err)
	}
	if c.Platform != verifier.PlatformTDX || !c.Simulated {
		t.Errorf("platform %q, simulated %v; want tdx, true", c.Platform, c.Simulated)
	}
	if err := verifier.CheckBinding(c, want); err != nil {
		t.Error(err)
	}
	digest := sha256.Sum256(quote)
	if !bytes.Equal(c.EvidenceDigest, digest[:]) {
		t.Errorf("evidence digest = %s, want %x", c.EvidenceDigest, digest)
	}
}

func TestVerifyEvidenceErrors(t *testing.T) {
	quote := readTestdata(t, "ita-aztdx/azure_td_quote.bin")
	cases := []struct {
		name string
		ev   verifier.Evidence
		want string
	}{
		{"unknown kind", verifier.Evidence{Kind: "sev-snp", Quote: quote},
			`rejected: evidence: unknown evidence kind "sev-snp", expected "tdx-quote" or "azure-tdx"`},
		{"runtime data on plain tdx", verifier.Evidence{Kind: verifier.EvidenceTDXQuote, Quote: quote, RuntimeData: []byte("{}")},
			`rejected: evidence: evidence kind "tdx-quote" carries runtime data`},
		{"oversized quote", verifier.Evidence{Kind: verifier.EvidenceTDXQuote, Quote: make([]byte, verifier.MaxQuoteSize+1)},
			"rejected: evidence: quote of 65537 bytes exceeds the maximum of 65536"},
		{"oversized runtime data", verifier.Evidence{Kind: verifier.EvidenceAzureTDX, Quote: quote, RuntimeData: make([]byte, verifier.MaxRuntimeDataSize+1)},
			"rejected: evidence: runtime data of 16385 bytes exceeds the maximum of 16384"},
		{"azure without runtime data", verifier.Evidence{Kind: verifier.EvidenceAzureTDX, Quote: quote},
			"rejected: runtime-data: report data[0:32] 18bc34a0c5ac43cb8251644a79690f703323cd270100c2b7085000b843899961 is not the sha-256 " +
				hex.EncodeToString(sha256.New().Sum(nil)) + " of the runtime data"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := azureBackend().Verify(context.Background(), c.ev)
			if err == nil || err.Error() != c.want {
				t.Fatalf("error = %v\nwant    %s", err, c.want)
			}
		})
	}
}
