package azure

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/rassh/rassh/verifier"
)

const (
	itaMRTD     = "bb379f8e734a755832509f61403f99db2258a70a01e1172a499d6d364101b0675455b4e372a35c1f006541f2de0d7154"
	toolingMRTD = "75f3acc2e1dfc3acf404d7eaa69a2eefcd0475a0dd6516ef5ba3cb83399c61b4aa1c638e3622bb650a514bfc6e858886"
)

func readTestdata(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// quoteReportData returns REPORTDATA of a TDX quote v4: the last 64 bytes of
// the 584-byte body after the 48-byte header.
func quoteReportData(q []byte) []byte { return q[48+520 : 48+584] }

func TestParseHCLReportITA(t *testing.T) {
	r, err := ParseHCLReport(readTestdata(t, "ita-aztdx/azure_hcl_report.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != 2 || r.ReportSize != 2436 || r.RequestType != 2 || r.Status != 0 {
		t.Errorf("header = version %d, size %d, request type %d, status %d; want 2, 2436, 2, 0",
			r.Version, r.ReportSize, r.RequestType, r.Status)
	}
	wantReq := IGVMRequestData{DataSize: 1220, Version: 1, ReportType: 4, HashType: 1, VariableDataSize: 1200}
	if r.RequestData != wantReq {
		t.Errorf("request data = %+v, want %+v", r.RequestData, wantReq)
	}
	if want := readTestdata(t, "ita-aztdx/azure_runtime_data.json"); !bytes.Equal(r.RuntimeData, want) {
		t.Errorf("runtime data differs from azure_runtime_data.json")
	}
	if got := hex.EncodeToString(r.TDReport.MRTD); got != itaMRTD {
		t.Errorf("MRTD = %s, want %s", got, itaMRTD)
	}
	for i, rtmr := range r.TDReport.RTMRs {
		if !bytes.Equal(rtmr, make([]byte, 48)) {
			t.Errorf("RTMR%d = %x, want zero", i, rtmr)
		}
	}
	if got := hex.EncodeToString(r.TDReport.TEETCBSVN); got != "04010700000000000000000000000000" {
		t.Errorf("TEE TCB SVN = %s", got)
	}
	if got := hex.EncodeToString(r.TDReport.XFAM); got != "e718060000000000" {
		t.Errorf("XFAM = %s", got)
	}
	if got := hex.EncodeToString(r.TDReport.TDAttributes); got != "0000000000000000" {
		t.Errorf("TD attributes = %s", got)
	}
	if len(r.RawTDReport) != TDReportSize {
		t.Errorf("raw TD report has %d bytes", len(r.RawTDReport))
	}
}

func TestParseHCLReportTooling(t *testing.T) {
	r, err := ParseHCLReport(readTestdata(t, "azure-cvm-tooling/hcl-report-tdx.bin"))
	if err != nil {
		t.Fatal(err)
	}
	wantReq := IGVMRequestData{DataSize: 1222, Version: 1, ReportType: 4, HashType: 1, VariableDataSize: 1202}
	if r.RequestData != wantReq {
		t.Errorf("request data = %+v, want %+v", r.RequestData, wantReq)
	}
	if want := readTestdata(t, "azure-cvm-tooling/hcl-report-tdx.runtime_data.json"); !bytes.Equal(r.RuntimeData, want) {
		t.Errorf("runtime data differs from hcl-report-tdx.runtime_data.json")
	}
	if got := hex.EncodeToString(r.TDReport.MRTD); got != toolingMRTD {
		t.Errorf("MRTD = %s, want %s", got, toolingMRTD)
	}
}

// TestHCLReportMatchesQuote checks that the quote IMDS returned for the ITA
// TDREPORT repeats its report data and measurements.
func TestHCLReportMatchesQuote(t *testing.T) {
	r, err := ParseHCLReport(readTestdata(t, "ita-aztdx/azure_hcl_report.bin"))
	if err != nil {
		t.Fatal(err)
	}
	q := readTestdata(t, "ita-aztdx/azure_td_quote.bin")
	body := q[48 : 48+584]
	fields := []struct {
		name        string
		report, got []byte
	}{
		{"TEE TCB SVN", r.TDReport.TEETCBSVN, body[0:16]},
		{"MRSEAM", r.TDReport.MRSeam, body[16:64]},
		{"TD attributes", r.TDReport.TDAttributes, body[120:128]},
		{"XFAM", r.TDReport.XFAM, body[128:136]},
		{"MRTD", r.TDReport.MRTD, body[136:184]},
		{"report data", r.TDReport.ReportData, body[520:584]},
	}
	for _, f := range fields {
		if !bytes.Equal(f.report, f.got) {
			t.Errorf("%s: TD report %x, quote %x", f.name, f.report, f.got)
		}
	}
}

func TestCheckLinksRealSets(t *testing.T) {
	itaReport, err := ParseHCLReport(readTestdata(t, "ita-aztdx/azure_hcl_report.bin"))
	if err != nil {
		t.Fatal(err)
	}
	toolingReport, err := ParseHCLReport(readTestdata(t, "azure-cvm-tooling/hcl-report-tdx.bin"))
	if err != nil {
		t.Fatal(err)
	}
	sets := []struct {
		name        string
		reportData  []byte
		runtimeData string
		vmUniqueID  string
		secureBoot  bool
	}{
		{"ita quote", quoteReportData(readTestdata(t, "ita-aztdx/azure_td_quote.bin")), "ita-aztdx/azure_runtime_data.json", "D6DA8E8D-5410-4716-A0C7-2FA91EA4A866", true},
		{"ita td report", itaReport.TDReport.ReportData, "ita-aztdx/azure_runtime_data.json", "D6DA8E8D-5410-4716-A0C7-2FA91EA4A866", true},
		{"tooling td report", toolingReport.TDReport.ReportData, "azure-cvm-tooling/hcl-report-tdx.runtime_data.json", "D270E56B-F668-4990-A5BC-9B624576841D", false},
		{"seed quote", quoteReportData(readTestdata(t, "seed-prior-work/azure-tdvm-quote-v4.bin")), "seed-prior-work/azure-tdvm-hcl-runtime-data.json", "D2685751-DDE3-4814-A2A2-565A69FE911B", true},
	}
	for _, s := range sets {
		t.Run(s.name, func(t *testing.T) {
			rd, err := CheckLinks(s.reportData, readTestdata(t, s.runtimeData))
			if err != nil {
				t.Fatal(err)
			}
			if rd.VMConfiguration.VMUniqueID != s.vmUniqueID {
				t.Errorf("vmUniqueId = %q, want %q", rd.VMConfiguration.VMUniqueID, s.vmUniqueID)
			}
			if rd.VMConfiguration.SecureBoot != s.secureBoot {
				t.Errorf("secure-boot = %v, want %v", rd.VMConfiguration.SecureBoot, s.secureBoot)
			}
			if !rd.VMConfiguration.TPMEnabled || !rd.VMConfiguration.ConsoleEnabled {
				t.Errorf("vm-configuration = %+v, want tpm-enabled and console-enabled", rd.VMConfiguration)
			}
		})
	}
}

func TestRuntimeDataUserData(t *testing.T) {
	empty := sha512.Sum512(nil)
	fabian := sha512.Sum512([]byte("fabian")) // the seed set's user_data line, base64 "ZmFiaWFu"
	cases := []struct {
		path string
		want []byte
	}{
		{"ita-aztdx/azure_runtime_data.json", empty[:]},
		{"azure-cvm-tooling/hcl-report-tdx.runtime_data.json", make([]byte, 64)},
		{"seed-prior-work/azure-tdvm-hcl-runtime-data.json", fabian[:]},
	}
	for _, c := range cases {
		rd, err := ParseRuntimeData(readTestdata(t, c.path))
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		if !bytes.Equal(rd.UserData, c.want) {
			t.Errorf("%s: user-data = %x, want %x", c.path, rd.UserData, c.want)
		}
	}
}

func TestRuntimeDataKeys(t *testing.T) {
	rd, err := ParseRuntimeData(readTestdata(t, "ita-aztdx/azure_runtime_data.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, kid := range []string{KeyIDAttestation, KeyIDEndorsement} {
		k, ok := rd.Key(kid)
		if !ok {
			t.Fatalf("key %s not found", kid)
		}
		pub, err := k.RSAPublicKey()
		if err != nil {
			t.Fatal(err)
		}
		if pub.N.BitLen() != 2048 || pub.E != 65537 {
			t.Errorf("%s: %d-bit modulus, exponent %d; want 2048, 65537", kid, pub.N.BitLen(), pub.E)
		}
	}
	if _, ok := rd.Key("other"); ok {
		t.Error(`Key("other") found a key`)
	}
}

func TestParseHCLReportErrors(t *testing.T) {
	good := readTestdata(t, "ita-aztdx/azure_hcl_report.bin")
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	put := func(b []byte, off int, v uint32) []byte {
		b[off], b[off+1], b[off+2], b[off+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		return b
	}
	cases := []struct {
		name  string
		input []byte
		want  string
	}{
		{"empty", nil, "azure: parse hcl report: truncated at 0 bytes, need at least 1236"},
		{"truncated in igvm header", good[:1235], "azure: parse hcl report: truncated at 1235 bytes, need at least 1236"},
		{"oversized", make([]byte, MaxHCLReportSize+1), "azure: parse hcl report: size 17621 bytes exceeds the maximum of 17620"},
		{"signature", edit(func(b []byte) []byte { b[0] = 'X'; return b }), `azure: parse hcl report: invalid signature "XCLA", expected "HCLA"`},
		{"td report type", edit(func(b []byte) []byte { b[32] = 0x00; return b }), "azure: parse hcl report: parse td report: report type 0x00 is not tdx (0x81)"},
		{"snp report type", edit(func(b []byte) []byte { return put(b, 1224, 2) }), "azure: parse hcl report: unsupported report type 2 in the igvm request data, expected 4 (tdx)"},
		{"sha-384 hash type", edit(func(b []byte) []byte { return put(b, 1228, 2) }), "azure: parse hcl report: unsupported hash type 2 in the igvm request data, expected 1 (sha-256)"},
		{"empty runtime data", edit(func(b []byte) []byte { return put(put(b, 1232, 0), 1216, 20) }), "azure: parse hcl report: empty runtime data in the igvm request data"},
		{"runtime data past end", edit(func(b []byte) []byte { return put(put(b, 1232, 1365), 1216, 1385) }), "azure: parse hcl report: runtime data size 1365 exceeds the 1364 bytes after the igvm request data"},
		{"runtime data size near 2^32", edit(func(b []byte) []byte { return put(b, 1232, 0xffffffff) }), "azure: parse hcl report: runtime data size 4294967295 exceeds the 1364 bytes after the igvm request data"},
		{"data size mismatch", edit(func(b []byte) []byte { return put(b, 1216, 1221) }), "azure: parse hcl report: igvm request data size 1221 does not equal 20 header bytes plus runtime data size 1200"},
		{"truncated in runtime data", good[:2435], "azure: parse hcl report: runtime data size 1200 exceeds the 1199 bytes after the igvm request data"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseHCLReport(c.input)
			if err == nil || err.Error() != c.want {
				t.Fatalf("error = %v\nwant    %s", err, c.want)
			}
		})
	}

	// The report ends with the runtime data; the zero padding after it in the
	// NV index is not part of it.
	r, err := ParseHCLReport(good[:2436])
	if err != nil {
		t.Fatalf("report cut right after the runtime data: %v", err)
	}
	if len(r.RuntimeData) != 1200 {
		t.Errorf("runtime data has %d bytes, want 1200", len(r.RuntimeData))
	}
}

func TestParseTDReportSize(t *testing.T) {
	_, err := ParseTDReport(make([]byte, 1023))
	if want := "parse td report: invalid size 1023 bytes, expected 1024"; err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %s", err, want)
	}
}

func TestParseRuntimeDataErrors(t *testing.T) {
	ud := `"` + hex.EncodeToString(make([]byte, 64)) + `"`
	vm := `{"secure-boot":true,"tpm-enabled":true,"vmUniqueId":"ID"}`
	cases := []struct {
		name, input, want string
	}{
		{"not json", `{`, "azure: parse runtime data: invalid json: unexpected EOF"},
		{"trailing value", `{"vm-configuration":` + vm + `,"user-data":` + ud + `} {}`, "azure: parse runtime data: invalid json: data after the top-level value"},
		{"duplicate user-data", `{"vm-configuration":` + vm + `,"user-data":` + ud + `,"user-data":` + ud + `}`, `azure: parse runtime data: duplicate member "user-data"`},
		{"duplicate nested", `{"vm-configuration":{"secure-boot":false,"secure-boot":true,"vmUniqueId":"ID"},"user-data":` + ud + `}`, `azure: parse runtime data: duplicate member "secure-boot"`},
		{"array", `[]`, "azure: parse runtime data: invalid json: json: cannot unmarshal array into Go value of type azure.runtimeDataJSON"},
		{"no vm-configuration", `{"user-data":` + ud + `}`, `azure: parse runtime data: missing "vm-configuration"`},
		{"no vmUniqueId", `{"vm-configuration":{"secure-boot":true},"user-data":` + ud + `}`, `azure: parse runtime data: missing "vm-configuration"."vmUniqueId"`},
		{"no user-data", `{"vm-configuration":` + vm + `}`, `azure: parse runtime data: missing "user-data"`},
		{"short user-data", `{"vm-configuration":` + vm + `,"user-data":"00"}`, `azure: parse runtime data: "user-data" has 2 characters, expected 128 hex digits`},
		{"lower-case user-data", `{"vm-configuration":` + vm + `,"user-data":"` + "cf" + hex.EncodeToString(make([]byte, 63)) + `"}`, `azure: parse runtime data: "user-data" character 0 is 'c', expected an upper-case hex digit`},
		{"key without kid", `{"keys":[{"kty":"RSA"}],"vm-configuration":` + vm + `,"user-data":` + ud + `}`, `azure: parse runtime data: key 0 has no "kid"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseRuntimeData([]byte(c.input))
			if err == nil || err.Error() != c.want {
				t.Fatalf("error = %v\nwant    %s", err, c.want)
			}
		})
	}

	_, err := ParseRuntimeData(make([]byte, verifier.MaxRuntimeDataSize+1))
	if want := "azure: parse runtime data: size 16385 bytes exceeds the maximum of 16384"; err == nil || err.Error() != want {
		t.Fatalf("oversized: error = %v, want %s", err, want)
	}
}

func TestCheckLinksErrors(t *testing.T) {
	rdBytes := readTestdata(t, "ita-aztdx/azure_runtime_data.json")
	reportData := quoteReportData(readTestdata(t, "ita-aztdx/azure_td_quote.bin"))
	hash := "18bc34a0c5ac43cb8251644a79690f703323cd270100c2b7085000b843899961"

	otherHash := bytes.Clone(reportData)
	otherHash[0] ^= 1
	nonZeroTail := bytes.Clone(reportData)
	nonZeroTail[63] = 1
	changedJSON := bytes.Replace(rdBytes, []byte(`"secure-boot":true`), []byte(`"secure-boot":fals`), 1)

	cases := []struct {
		name        string
		reportData  []byte
		runtimeData []byte
		want        string
	}{
		{"short report data", reportData[:32], rdBytes, "rejected: runtime-data: report data has 32 bytes, expected 64"},
		{"hash differs", otherHash, rdBytes, "rejected: runtime-data: report data[0:32] 19" + hash[2:] + " is not the sha-256 " + hash + " of the runtime data"},
		{"tail not zero", nonZeroTail, rdBytes, "rejected: runtime-data: report data[32:64] " + hex.EncodeToString(nonZeroTail[32:]) + " is not zero"},
		{"runtime data changed", reportData, changedJSON, "rejected: runtime-data: report data[0:32] " + hash + " is not the sha-256 "},
		{"oversized runtime data", reportData, make([]byte, verifier.MaxRuntimeDataSize+1), "rejected: runtime-data: size 16385 bytes exceeds the maximum of 16384"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := CheckLinks(c.reportData, c.runtimeData)
			if err == nil || len(err.Error()) < len(c.want) || err.Error()[:len(c.want)] != c.want {
				t.Fatalf("error = %v\nwant    %s", err, c.want)
			}
			if !verifier.IsRejected(err) {
				t.Errorf("error %T is not a *verifier.RejectedError", err)
			}
		})
	}
}

// A runtime document whose hash matches but that does not parse is still a
// rejection of the evidence.
func TestCheckLinksUnparsable(t *testing.T) {
	rd := []byte(`{"user-data":"00"}`)
	reportData := make([]byte, 64)
	sum := sha256Sum(rd)
	copy(reportData, sum[:])
	_, err := CheckLinks(reportData, rd)
	want := `rejected: runtime-data: azure: parse runtime data: missing "vm-configuration"`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %s", err, want)
	}
}
