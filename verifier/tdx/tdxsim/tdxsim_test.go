package tdxsim_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-tdx-guest/abi"
	"github.com/google/go-tdx-guest/pcs"
	pb "github.com/google/go-tdx-guest/proto/tdx"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/tdx"
	"github.com/rassh/rassh/verifier/tdx/tdxsim"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func measurement(b byte) []byte { return bytes.Repeat([]byte{b}, 48) }

func newQuote(t *testing.T, a *tdxsim.Authority, td tdxsim.TDConfig) ([64]byte, []byte) {
	t.Helper()
	var rd [64]byte
	copy(rd[:], "report data of a simulated TD")
	q, err := a.Quote(rd, td)
	if err != nil {
		t.Fatalf("Quote: %v", err)
	}
	return rd, q
}

func TestSimulatedQuoteVerifies(t *testing.T) {
	a, err := tdxsim.NewAuthority(now)
	if err != nil {
		t.Fatal(err)
	}
	td := tdxsim.TDConfig{
		MRTD:       measurement(0x11),
		MRConfigID: measurement(0x22),
		MROwner:    measurement(0x33),
		RTMRs:      [4][]byte{measurement(0x40), nil, nil, measurement(0x43)},
	}
	rd, q := newQuote(t, a, td)

	v := &tdx.Verifier{SimulationRoots: a.RootPool(), Now: func() time.Time { return now }}
	c, err := v.VerifyQuote(context.Background(), q)
	if err != nil {
		t.Fatalf("VerifyQuote: %v", err)
	}
	if !c.Simulated {
		t.Error("Simulated = false, want true")
	}
	if c.QuoteVersion != 4 {
		t.Errorf("QuoteVersion = %d, want 4", c.QuoteVersion)
	}
	if !bytes.Equal(c.MRTD, td.MRTD) {
		t.Errorf("MRTD = %x", c.MRTD)
	}
	if !bytes.Equal(c.MROwner, td.MROwner) {
		t.Errorf("MROwner = %x", c.MROwner)
	}
	if !bytes.Equal(c.RTMRs[3], td.RTMRs[3]) || !bytes.Equal(c.RTMRs[1], make([]byte, 48)) {
		t.Errorf("RTMRs = %x", c.RTMRs)
	}
	if !bytes.Equal(c.ReportData, rd[:]) || !bytes.Equal(c.UserData, rd[:]) {
		t.Errorf("ReportData = %x, UserData = %x", c.ReportData, c.UserData)
	}
	if c.Debug {
		t.Error("Debug = true, want false")
	}
	if c.Verifier != verifier.VerifierLocal || c.Platform != verifier.PlatformTDX || c.TEE != "tdx" {
		t.Errorf("Verifier, Platform, TEE = %q, %q, %q", c.Verifier, c.Platform, c.TEE)
	}
	if !c.VerifiedAt.Equal(now) {
		t.Errorf("VerifiedAt = %v", c.VerifiedAt)
	}
}

func TestSimulatedQuoteDebugBit(t *testing.T) {
	a, err := tdxsim.NewAuthority(now)
	if err != nil {
		t.Fatal(err)
	}
	_, q := newQuote(t, a, tdxsim.TDConfig{Debug: true})
	v := &tdx.Verifier{SimulationRoots: a.RootPool(), Now: func() time.Time { return now }}
	c, err := v.VerifyQuote(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Debug {
		t.Error("Debug = false, want true")
	}
}

func TestSimulatedQuoteRejectedWithoutSimulationRoots(t *testing.T) {
	a, err := tdxsim.NewAuthority(now)
	if err != nil {
		t.Fatal(err)
	}
	_, q := newQuote(t, a, tdxsim.TDConfig{})
	v := &tdx.Verifier{Now: func() time.Time { return now }}
	_, err = v.VerifyQuote(context.Background(), q)
	var rej *verifier.RejectedError
	if !errors.As(err, &rej) {
		t.Fatalf("err = %v, want *verifier.RejectedError", err)
	}
	if rej.Check != "pck chain" {
		t.Errorf("Check = %q, want %q", rej.Check, "pck chain")
	}
	want := `rejected: pck chain: verify PCK chain of "rassh SIMULATED PCK Certificate" at 2026-03-01T12:00:00Z: x509: certificate signed by unknown authority`
	if err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
}

func TestSimulatedQuoteRejectedByOtherAuthority(t *testing.T) {
	a, err := tdxsim.NewAuthority(now)
	if err != nil {
		t.Fatal(err)
	}
	other, err := tdxsim.NewAuthority(now)
	if err != nil {
		t.Fatal(err)
	}
	_, q := newQuote(t, a, tdxsim.TDConfig{})
	v := &tdx.Verifier{SimulationRoots: other.RootPool(), Now: func() time.Time { return now }}
	if _, err := v.VerifyQuote(context.Background(), q); !verifier.IsRejected(err) {
		t.Fatalf("err = %v, want a rejection", err)
	}
}

func TestSimulatedQuoteParsesWithGoTDXGuest(t *testing.T) {
	a, err := tdxsim.NewAuthority(now)
	if err != nil {
		t.Fatal(err)
	}
	_, q := newQuote(t, a, tdxsim.TDConfig{})
	parsed, err := abi.QuoteToProto(q)
	if err != nil {
		t.Fatalf("abi.QuoteToProto: %v", err)
	}
	back, err := abi.QuoteToAbiBytes(parsed.(*pb.QuoteV4))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, q) {
		t.Error("go-tdx-guest re-encodes the simulated quote differently")
	}

	ext, err := pcs.PckCertificateExtensions(a.PCK())
	if err != nil {
		t.Fatalf("pcs.PckCertificateExtensions: %v", err)
	}
	if ext.FMSPC != "53494d000000" || ext.PCEID != "0000" || ext.TCB.PCESvn != 11 {
		t.Errorf("extensions = FMSPC %q, PCEID %q, PCESVN %d", ext.FMSPC, ext.PCEID, ext.TCB.PCESvn)
	}
	if !bytes.Equal(ext.TCB.CPUSvnComponents, tdxsim.DefaultTCB.SGXComponents[:]) {
		t.Errorf("SGX TCB components = %x", ext.TCB.CPUSvnComponents)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	a, err := tdxsim.NewAuthority(now)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "sim")
	if err := a.Save(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"root-key.pem", "intermediate-key.pem", "pck-key.pem", "attestation-key.pem"} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %#o, want 0600", name, info.Mode().Perm())
		}
	}
	root, err := os.ReadFile(filepath.Join(dir, tdxsim.RootFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(root, a.RootPEM()) {
		t.Error("root.pem differs from RootPEM")
	}

	loaded, err := tdxsim.LoadAuthority(dir)
	if err != nil {
		t.Fatalf("LoadAuthority: %v", err)
	}
	_, q := newQuote(t, loaded, tdxsim.TDConfig{})
	v := &tdx.Verifier{SimulationRoots: a.RootPool(), Now: func() time.Time { return now }}
	if _, err := v.VerifyQuote(context.Background(), q); err != nil {
		t.Fatalf("quote of the loaded authority: %v", err)
	}
}

func TestLoadRejectsReadableKey(t *testing.T) {
	a, err := tdxsim.NewAuthority(now)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := a.Save(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "pck-key.pem")
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = tdxsim.LoadAuthority(dir)
	want := "load simulation authority: " + path + " has mode 0644, want 0600"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestQuoteRejectsShortMeasurement(t *testing.T) {
	a, err := tdxsim.NewAuthority(now)
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Quote([64]byte{}, tdxsim.TDConfig{MRTD: []byte{1, 2, 3}})
	want := "simulated quote: MRTD is 3 bytes, want 48 or none"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}
