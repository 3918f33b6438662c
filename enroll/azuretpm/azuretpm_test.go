package azuretpm_test

import (
	"bytes"
	"context"
	"crypto/sha512"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2/transport"

	"github.com/rassh/rassh/enroll/azuretpm"
	"github.com/rassh/rassh/enroll/azuretpm/azuresim"
	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/azure"
	"github.com/rassh/rassh/verifier/binding"
	"github.com/rassh/rassh/verifier/tdx"
	"github.com/rassh/rassh/verifier/tdx/tdxsim"
)

var testVM = verifier.VMConfiguration{
	ConsoleEnabled: true,
	SecureBoot:     true,
	TPMEnabled:     true,
	VMUniqueID:     "5C2BA5D3-9F0A-4C53-8E3B-1B7F0C1E2D4A",
}

type simulatedVM struct {
	authority *tdxsim.Authority
	imds      *azuresim.IMDS
	imdsURL   string
	socket    string // the paravisor's TPM socket
	tpm       *azuretpm.SocketTPM
}

// startVM starts swtpm, the paravisor stand-in in front of it and a local
// IMDS; withParavisor false exposes swtpm without report regeneration.
func startVM(t testing.TB, withParavisor bool) *simulatedVM {
	t.Helper()
	a, err := tdxsim.NewAuthority(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	td := tdxsim.TDConfig{MRTD: bytes.Repeat([]byte{0x11}, 48)}
	vm := &simulatedVM{authority: a, imds: &azuresim.IMDS{Authority: a, TD: td}}
	imds := httptest.NewServer(vm.imds)
	t.Cleanup(imds.Close)
	vm.imdsURL = imds.URL + "/"

	vm.tpm = azuresim.StartSWTPM(t)
	paravisor := &azuresim.Paravisor{TPM: vm.tpm, VM: testVM, TD: td}
	if err := paravisor.Setup(); err != nil {
		t.Fatal(err)
	}
	if !withParavisor {
		return vm
	}
	vm.socket = filepath.Join(t.TempDir(), "vtpm.sock")
	l, err := net.Listen("unix", vm.socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go paravisor.Serve(l)
	return vm
}

func (vm *simulatedVM) provider(t testing.TB) *azuretpm.Provider {
	p, err := azuretpm.New(azuretpm.Config{TPM: vm.socket, IMDSURL: vm.imdsURL, ReportTimeout: "2s"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func value(s string) binding.Value { return binding.Enroll([]byte(s), nil, nil, nil) }

// verify checks evidence the way the CA's local backend does: the quote
// against the simulation root, then both links to the binding value.
func (vm *simulatedVM) verify(t *testing.T, ev verifier.Evidence, v binding.Value) *azure.RuntimeData {
	t.Helper()
	if ev.Kind != verifier.EvidenceAzureTDX {
		t.Fatalf("kind = %q, expected %q", ev.Kind, verifier.EvidenceAzureTDX)
	}
	claims, err := (&tdx.Verifier{SimulationRoots: vm.authority.RootPool()}).VerifyQuote(context.Background(), ev.Quote)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := azure.CheckLinks(claims.ReportData, ev.RuntimeData)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rd.UserData, v[:]) {
		t.Fatalf("user-data = %X, expected %X", rd.UserData, v[:])
	}
	return rd
}

func TestEvidenceThroughParavisor(t *testing.T) {
	vm := startVM(t, true)
	p := vm.provider(t)

	// The first call defines the user-data index, the second reuses it.
	for _, v := range []binding.Value{value("first"), value("second")} {
		ev, err := p.Evidence(context.Background(), v)
		if err != nil {
			t.Fatal(err)
		}
		rd := vm.verify(t, ev, v)
		if rd.VMConfiguration.VMUniqueID != testVM.VMUniqueID {
			t.Errorf("vmUniqueId = %q, expected %q", rd.VMConfiguration.VMUniqueID, testVM.VMUniqueID)
		}
	}
	if n := vm.imds.Requests.Load(); n != 2 {
		t.Errorf("IMDS served %d quotes, expected 2", n)
	}
}

func TestEvidenceConcurrentCalls(t *testing.T) {
	// Renewal and ra-ssh share one provider; each call must get its own
	// binding into the report.
	vm := startVM(t, true)
	p := vm.provider(t)
	errs := make(chan error, 4)
	for i := range 4 {
		go func() {
			v := value(fmt.Sprint("concurrent ", i))
			ev, err := p.Evidence(context.Background(), v)
			if err == nil {
				_, err = azure.CheckLinks(mustReportData(t, vm, ev), ev.RuntimeData)
			}
			if err == nil {
				err = checkUserData(ev, v)
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func mustReportData(t *testing.T, vm *simulatedVM, ev verifier.Evidence) []byte {
	claims, err := (&tdx.Verifier{SimulationRoots: vm.authority.RootPool()}).VerifyQuote(context.Background(), ev.Quote)
	if err != nil {
		t.Error(err)
		return nil
	}
	return claims.ReportData
}

func checkUserData(ev verifier.Evidence, v binding.Value) error {
	rd, err := azure.ParseRuntimeData(ev.RuntimeData)
	if err != nil {
		return err
	}
	if !bytes.Equal(rd.UserData, v[:]) {
		return fmt.Errorf("user-data %X, expected %X", rd.UserData, v[:])
	}
	return nil
}

func TestEvidenceStaleReport(t *testing.T) {
	// Straight to swtpm: nothing regenerates the report after the write.
	vm := startVM(t, false)
	p, err := azuretpm.New(azuretpm.Config{IMDSURL: vm.imdsURL, ReportTimeout: "300ms"})
	if err != nil {
		t.Fatal(err)
	}
	p.Open = func() (transport.TPMCloser, error) { return nopCloser{vm.tpm}, nil }

	v := value("stale")
	_, err = p.Evidence(context.Background(), v)
	want := "azure: hcl report user-data still differs from the written binding " + strings.ToUpper(hexString(v[:])) + " after 300ms"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, expected %s", err, want)
	}
	if n := vm.imds.Requests.Load(); n != 0 {
		t.Errorf("IMDS asked %d times for a stale report", n)
	}
}

func TestEvidenceIMDSDown(t *testing.T) {
	vm := startVM(t, true)
	p := vm.provider(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	p.IMDS.BaseURL = closed.URL

	_, err := p.Evidence(context.Background(), value("x"))
	if err == nil || !strings.HasPrefix(err.Error(), "azure: imds: Post \""+closed.URL+"/acc/tdquote\"") {
		t.Fatalf("error = %v, expected an IMDS connection failure", err)
	}
}

func TestIMDSRequiresMetadataHeader(t *testing.T) {
	vm := startVM(t, true)
	p := vm.provider(t)
	// A proxy that drops the Metadata header gets IMDS's 400.
	strip := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Del("Metadata")
		vm.imds.ServeHTTP(w, r)
	}))
	defer strip.Close()
	p.IMDS.BaseURL = strip.URL

	_, err := p.Evidence(context.Background(), value("x"))
	if err == nil || !strings.Contains(err.Error(), "returned HTTP 400") {
		t.Fatalf("error = %v, expected HTTP 400", err)
	}
}

func TestInvalidReportTimeout(t *testing.T) {
	_, err := azuretpm.New(azuretpm.Config{ReportTimeout: "soon"})
	want := `azure: invalid report_timeout "soon", expected a positive duration such as 5s`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, expected %s", err, want)
	}
}

func TestOpenTPMMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tpmrm0")
	_, err := azuretpm.OpenTPM(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("error = %v, expected one naming %s", err, path)
	}
}

func TestNVRoundTripInChunks(t *testing.T) {
	// 2000 bytes need two NV_Write and two NV_Read commands of at most
	// swtpm's 1024-byte NV buffer.
	tpm := azuresim.StartSWTPM(t)
	data := bytes.Repeat([]byte("0123456789"), 200)
	if err := azuretpm.WriteNV(tpm, 0x01500000, data, true); err != nil {
		t.Fatal(err)
	}
	got, err := azuretpm.ReadNV(tpm, 0x01500000)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes that differ from the %d written", len(got), len(data))
	}
}

func TestRecordedReportsParse(t *testing.T) {
	// Full-size reports from real Azure TDX CVMs. The first carries
	// user-data SHA-512(""), the second 64 zero bytes.
	tests := []struct {
		file     string
		userData []byte
	}{
		{"../../testdata/ita-aztdx/azure_hcl_report.bin", sha512Empty()},
		{"../../testdata/azure-cvm-tooling/hcl-report-tdx.bin", make([]byte, 64)},
	}
	for _, tt := range tests {
		raw := readFile(t, tt.file)
		var v binding.Value
		copy(v[:], tt.userData)
		report, fresh, err := azuretpm.CheckReport(raw, v)
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if !fresh {
			t.Errorf("%s: user-data does not match", tt.file)
		}
		if len(report.RawTDReport) != 1024 {
			t.Errorf("%s: TDREPORT of %d bytes", tt.file, len(report.RawTDReport))
		}
		if _, fresh, _ := azuretpm.CheckReport(raw, value("other")); fresh {
			t.Errorf("%s: matches another binding", tt.file)
		}
	}
}

func TestRecordedQuoteMatchesReport(t *testing.T) {
	// The quote that IMDS returned for the recorded report passes the agent's check.
	raw := readFile(t, "../../testdata/ita-aztdx/azure_hcl_report.bin")
	quote := readFile(t, "../../testdata/ita-aztdx/azure_td_quote.bin")
	recorded := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"quote":"` + base64URL(quote) + `"}`))
	}))
	defer recorded.Close()

	var v binding.Value
	copy(v[:], sha512Empty())
	report, _, err := azuretpm.CheckReport(raw, v)
	if err != nil {
		t.Fatal(err)
	}
	p := &azuretpm.Provider{IMDS: &azuretpm.IMDS{BaseURL: recorded.URL}}
	ev, err := azuretpm.QuoteEvidence(context.Background(), p, report)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ev.Quote, quote) || !bytes.Equal(ev.RuntimeData, readFile(t, "../../testdata/ita-aztdx/azure_runtime_data.json")) {
		t.Errorf("evidence differs from the recorded quote and runtime data")
	}

	// A quote for another TDREPORT is rejected.
	other := readFile(t, "../../testdata/azure-cvm-tooling/hcl-report-tdx.bin")
	var zero binding.Value
	otherReport, _, err := azuretpm.CheckReport(other, zero)
	if err != nil {
		t.Fatal(err)
	}
	_, err = azuretpm.QuoteEvidence(context.Background(), p, otherReport)
	if err == nil || !strings.HasPrefix(err.Error(), "azure: imds quote REPORTDATA 18bc34a0") {
		t.Fatalf("error = %v, expected a REPORTDATA mismatch", err)
	}
}

func FuzzCheckReport(f *testing.F) {
	f.Add(readFileF(f, "../../testdata/ita-aztdx/azure_hcl_report.bin"))
	f.Add(readFileF(f, "../../testdata/azure-cvm-tooling/hcl-report-tdx.bin"))
	f.Add(azuresim.HCLReport(azuresim.RuntimeData(testVM, make([]byte, 64)), tdxsim.TDConfig{}))
	f.Fuzz(func(t *testing.T, raw []byte) {
		report, _, err := azuretpm.CheckReport(raw, binding.Value{})
		if err == nil && len(report.RawTDReport) != 1024 {
			t.Fatalf("TDREPORT of %d bytes", len(report.RawTDReport))
		}
	})
}

type nopCloser struct{ transport.TPM }

func (nopCloser) Close() error { return nil }

func sha512Empty() []byte {
	sum := sha512.Sum512(nil)
	return sum[:]
}

// BenchmarkEvidenceThroughParavisor measures one azure-tdx evidence round:
// NV write, report regeneration and read through the paravisor stand-in
// (swtpm), and a simulated quote from the local IMDS.
func BenchmarkEvidenceThroughParavisor(b *testing.B) {
	vm := startVM(b, true)
	p := vm.provider(b)
	v := value("bench")
	for b.Loop() {
		if _, err := p.Evidence(context.Background(), v); err != nil {
			b.Fatal(err)
		}
	}
}
