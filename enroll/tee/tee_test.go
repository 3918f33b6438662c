package tee

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-configfs-tsm/configfs/configfsi"
	"github.com/google/go-configfs-tsm/configfs/faketsm"
	"github.com/google/go-configfs-tsm/report"
	tdxtest "github.com/google/go-tdx-guest/testing"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/binding"
	"github.com/rassh/rassh/verifier/tdx/tdxsim"
)

func newAuthority(t *testing.T) *tdxsim.Authority {
	t.Helper()
	a, err := tdxsim.NewAuthority(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func testValue(s string) binding.Value {
	return binding.Enroll([]byte(s), nil, nil, nil)
}

// fakeTSM returns a configfs-tsm fake whose outblob is quote(inblob) and
// whose provider attribute is provider.
func fakeTSM(provider string, quote func(inblob []byte) ([]byte, error)) *faketsm.Client {
	sub := faketsm.ReportV7(0)
	sub.ReadAttr = func(e *faketsm.ReportEntry, attr string) ([]byte, error) {
		switch attr {
		case "provider":
			return []byte(provider + "\n"), nil
		case "outblob":
			return quote(e.InAttrs["inblob"].Value)
		}
		return nil, os.ErrNotExist
	}
	return &faketsm.Client{Subsystems: map[string]configfsi.Client{"report": sub}}
}

func simulatedQuote(t *testing.T, a *tdxsim.Authority) func([]byte) ([]byte, error) {
	return func(inblob []byte) ([]byte, error) {
		var rd [64]byte
		copy(rd[:], inblob)
		return a.Quote(rd, tdxsim.TDConfig{})
	}
}

func TestConfigFSTSMQuote(t *testing.T) {
	a := newAuthority(t)
	v := testValue("configfs")
	p := &ConfigFSTSM{Client: fakeTSM("tdx_guest", simulatedQuote(t, a))}

	ev, err := p.Evidence(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Kind != verifier.EvidenceTDXQuote {
		t.Errorf("kind = %q, expected %q", ev.Kind, verifier.EvidenceTDXQuote)
	}
	rd, err := QuoteReportData(ev.Quote)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rd, v[:]) {
		t.Errorf("REPORTDATA = %x, expected %x", rd, v[:])
	}
}

func TestConfigFSTSMWrongProvider(t *testing.T) {
	a := newAuthority(t)
	p := &ConfigFSTSM{Client: fakeTSM("sev_guest", simulatedQuote(t, a))}
	_, err := p.Evidence(context.Background(), testValue("x"))
	want := `configfs-tsm: provider is "sev_guest", expected "tdx_guest"`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, expected %s", err, want)
	}
}

func TestConfigFSTSMUpstreamFake(t *testing.T) {
	// go-configfs-tsm's own fake reports provider "fake" and a text outblob.
	client := &faketsm.Client{Subsystems: map[string]configfsi.Client{"report": faketsm.Report611(0)}}
	_, err := (&ConfigFSTSM{Client: client}).Evidence(context.Background(), testValue("x"))
	want := `configfs-tsm: provider is "fake", expected "tdx_guest"`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, expected %s", err, want)
	}
}

func TestConfigFSTSMGenerationMismatch(t *testing.T) {
	a := newAuthority(t)
	sub := faketsm.ReportV7(0)
	quote := simulatedQuote(t, a)
	sub.ReadAttr = func(e *faketsm.ReportEntry, attr string) ([]byte, error) {
		if attr == "outblob" {
			// Another writer changes the entry between our write and read.
			e.WriteGeneration++
			return quote(e.InAttrs["inblob"].Value)
		}
		return []byte("tdx_guest\n"), nil
	}
	client := &faketsm.Client{Subsystems: map[string]configfsi.Client{"report": sub}}

	_, err := (&ConfigFSTSM{Client: client}).Evidence(context.Background(), testValue("x"))
	var genErr *report.GenerationErr
	if !errors.As(err, &genErr) {
		t.Fatalf("error = %v, expected a generation mismatch", err)
	}
}

func TestConfigFSTSMReportDataMismatch(t *testing.T) {
	a := newAuthority(t)
	other := testValue("other")
	p := &ConfigFSTSM{Client: fakeTSM("tdx_guest", func([]byte) ([]byte, error) {
		return a.Quote(other, tdxsim.TDConfig{})
	})}
	_, err := p.Evidence(context.Background(), testValue("x"))
	if err == nil || !strings.Contains(err.Error(), "does not match the requested binding") {
		t.Fatalf("error = %v, expected a REPORTDATA mismatch", err)
	}
}

func TestConfigFSTSMKernelError(t *testing.T) {
	p := &ConfigFSTSM{Client: fakeTSM("tdx_guest", func([]byte) ([]byte, error) {
		return nil, syscall.EIO
	})}
	_, err := p.Evidence(context.Background(), testValue("x"))
	if err == nil || !strings.HasPrefix(err.Error(), "configfs-tsm: get report: ") {
		t.Fatalf("error = %v, expected a get report failure", err)
	}
}

func TestTDXGuestDeviceQuote(t *testing.T) {
	a := newAuthority(t)
	v := testValue("device")
	quote, err := a.Quote(v, tdxsim.TDConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var tdReport [1024]byte
	copy(tdReport[:], "a TDREPORT stand-in for the mock device")
	device, err := tdxtest.TcDevice([]tdxtest.TestCase{{Input: v, Report: tdReport, Quote: quote}})
	if err != nil {
		t.Fatal(err)
	}

	ev, err := (&TDXGuest{Device: device}).Evidence(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ev.Quote, quote) {
		t.Errorf("quote differs from the device's answer")
	}
	if ev.Kind != verifier.EvidenceTDXQuote {
		t.Errorf("kind = %q", ev.Kind)
	}
}

func TestTDXGuestDeviceUnknownReportData(t *testing.T) {
	device, err := tdxtest.TcDevice(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&TDXGuest{Device: device}).Evidence(context.Background(), testValue("x"))
	if err == nil || !strings.HasPrefix(err.Error(), "tdx guest device: get quote: ") {
		t.Fatalf("error = %v, expected a get quote failure", err)
	}
}

func TestTDXGuestMissingDevice(t *testing.T) {
	path := t.TempDir() + "/tdx_guest"
	_, err := (&TDXGuest{Path: path}).Evidence(context.Background(), testValue("x"))
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("error = %v, expected one naming %s", err, path)
	}
}

func TestSimulatedProvider(t *testing.T) {
	a := newAuthority(t)
	dir := t.TempDir()
	if err := a.Save(dir); err != nil {
		t.Fatal(err)
	}
	identity := strings.Repeat("ab", 48)
	var logs bytes.Buffer
	p, err := NewSimulated(SimulatedConfig{AuthorityDir: dir, MRConfigID: identity}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "SIMULATED TD") {
		t.Errorf("no simulation warning logged: %q", logs.String())
	}

	v := testValue("simulated")
	ev, err := p.Evidence(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	rd, _ := QuoteReportData(ev.Quote)
	if !bytes.Equal(rd, v[:]) {
		t.Errorf("REPORTDATA = %x, expected %x", rd, v[:])
	}
	// MRCONFIGID follows MRTD in the TD report body.
	mrConfigID := ev.Quote[quoteHeaderSize+184 : quoteHeaderSize+232]
	if !bytes.Equal(mrConfigID, bytes.Repeat([]byte{0xab}, 48)) {
		t.Errorf("MRCONFIGID = %x, expected %s", mrConfigID, identity)
	}
}

func TestSimulatedConfigInvalidMeasurement(t *testing.T) {
	a := newAuthority(t)
	dir := t.TempDir()
	if err := a.Save(dir); err != nil {
		t.Fatal(err)
	}
	_, err := NewSimulated(SimulatedConfig{AuthorityDir: dir, MROwner: "abcd"}, slog.New(slog.DiscardHandler))
	want := `simulated TD: invalid mrowner "abcd", expected 96 hex digits (quoted in YAML, which reads unquoted digits as a number)`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, expected %s", err, want)
	}
}

func TestQuoteReportDataRecordedQuote(t *testing.T) {
	// A real Azure quote: REPORTDATA[0:32] is SHA-256 of its runtime data.
	quote, err := os.ReadFile("../../testdata/ita-aztdx/azure_td_quote.bin")
	if err != nil {
		t.Fatal(err)
	}
	runtimeData, err := os.ReadFile("../../testdata/ita-aztdx/azure_runtime_data.json")
	if err != nil {
		t.Fatal(err)
	}
	rd, err := QuoteReportData(quote)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(runtimeData)
	if !bytes.Equal(rd[:32], sum[:]) || !bytes.Equal(rd[32:], make([]byte, 32)) {
		t.Errorf("REPORTDATA = %x, expected %x followed by zeros", rd, sum)
	}
}

func TestQuoteReportDataErrors(t *testing.T) {
	v5 := make([]byte, 100)
	v5[0] = 5
	tests := []struct {
		name  string
		quote []byte
		want  string
	}{
		{"empty", nil, "read quote: truncated at 0 bytes"},
		{"version 3", []byte{3, 0, 0, 0}, "read quote: unsupported version 3"},
		{"short v5", v5, "read quote: truncated at 100 bytes"},
		{"oversized", make([]byte, verifier.MaxQuoteSize+1), "read quote: size 65537 exceeds the maximum of 65536 bytes"},
	}
	for _, tt := range tests {
		_, err := QuoteReportData(tt.quote)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: error = %v, expected %s", tt.name, err, tt.want)
		}
	}
}

func FuzzQuoteReportData(f *testing.F) {
	for _, name := range []string{
		"../../testdata/ita-aztdx/azure_td_quote.bin",
		"../../testdata/go-tdx-guest/quote_v5_sample.dat",
		"../../testdata/go-tdx-guest/tdx_prod_quote_SPR_E4.dat",
	} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, quote []byte) {
		rd, err := QuoteReportData(quote)
		if err == nil && len(rd) != binding.Size {
			t.Fatalf("REPORTDATA of %d bytes", len(rd))
		}
	})
}
