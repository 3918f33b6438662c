package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// rasshCA is the rassh-ca binary that TestMain builds from this package.
var rasshCA string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rassh-ca-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rasshCA = filepath.Join(dir, "rassh-ca")
	build := exec.Command("go", "build", "-o", rasshCA, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build rassh-ca:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testdataDir is the repository's testdata folder; the commands run there so
// that their arguments read as in docs/verify.md.
var testdataDir, _ = filepath.Abs(filepath.Join("..", "..", "testdata"))

type runResult struct {
	code           int
	stdout, stderr string
}

func runCA(t *testing.T, args ...string) runResult {
	t.Helper()
	cmd := exec.Command(rasshCA, args...)
	cmd.Dir = testdataDir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if exitErr, ok := err.(*exec.ExitError); ok {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return runResult{code, stdout.String(), stderr.String()}
}

func (r runResult) assert(t *testing.T, code int, stderr string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	if r.stderr != stderr {
		t.Errorf("stderr:\n%s\nwant:\n%s", r.stderr, stderr)
	}
}

func (r runResult) assertLines(t *testing.T, lines ...string) {
	t.Helper()
	got := strings.Split(r.stdout, "\n")
	for _, want := range lines {
		found := false
		for _, line := range got {
			if strings.Join(strings.Fields(line), " ") == want {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("stdout has no line %q:\n%s", want, r.stdout)
		}
	}
}

const (
	itaQuote       = "ita-aztdx/azure_td_quote.bin"
	itaRuntimeData = "ita-aztdx/azure_runtime_data.json"
	itaHCLReport   = "ita-aztdx/azure_hcl_report.bin"
	azureAt        = "2026-03-01T00:00:00Z"
	itaMRTD        = "bb379f8e734a755832509f61403f99db2258a70a01e1172a499d6d364101b0675455b4e372a35c1f006541f2de0d7154"
	zero48         = "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	// itaUserData is SHA-512 of the empty string, what the ITA client wrote.
	itaUserData = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
)

func TestVerifyAzureQuote(t *testing.T) {
	r := runCA(t, "verify", "--quote", itaQuote, "--runtime-data", itaRuntimeData, "--at", azureAt)
	r.assert(t, exitOK, "")
	r.assertLines(t,
		"result verified",
		"verifier local",
		"verified at "+azureAt,
		"tee tdx",
		"platform azure-tdx",
		"quote version 4",
		"simulated false",
		"tcb status unknown (no collateral)",
		"mrtd "+itaMRTD,
		"rtmr0 "+zero48, "rtmr1 "+zero48, "rtmr2 "+zero48, "rtmr3 "+zero48,
		"td attributes 0000000000000000 (debug false)",
		"xfam e718060000000000",
		"tee tcb svn 04010700000000000000000000000000",
		"vm configuration secure-boot=true tpm-enabled=true console-enabled=true",
		"vm unique id D6DA8E8D-5410-4716-A0C7-2FA91EA4A866",
		"user data "+itaUserData,
		"policy none applied: authenticity and time only",
		"note the TCB status is unknown because no collateral was given (--collateral DIR)",
	)
}

func TestVerifyFlippedSignatureByte(t *testing.T) {
	quote, err := os.ReadFile(filepath.Join(testdataDir, itaQuote))
	if err != nil {
		t.Fatal(err)
	}
	quote[636] ^= 1 // first byte of the ECDSA quote signature, after the 4-byte signature data length
	path := filepath.Join(t.TempDir(), "flipped.bin")
	if err := os.WriteFile(path, quote, 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCA(t, "verify", "--quote", path, "--runtime-data", itaRuntimeData, "--at", azureAt)
	r.assert(t, exitRejected, "rassh-ca verify: rejected: quote signature: unable to verify message digest using quote's signature and ecdsa attestation key\n")
	if r.stdout != "" {
		t.Errorf("stdout of a rejected quote: %q", r.stdout)
	}
}

func TestVerifyHCLReportJSON(t *testing.T) {
	// The quote as base64url without padding, as IMDS returns it.
	quote, err := os.ReadFile(filepath.Join(testdataDir, itaQuote))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "quote.b64url")
	if err := os.WriteFile(path, []byte(base64.RawURLEncoding.EncodeToString(quote)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	r := runCA(t, "verify", "--quote", path, "--hcl-report", itaHCLReport, "--at", azureAt,
		"--expect-user-data", strings.ToUpper(itaUserData), "--json")
	r.assert(t, exitOK, "")
	var res verifyResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
	if res.Result != "verified" || res.Policy != policyNone || res.Error != nil {
		t.Errorf("result %q, policy %q, error %+v", res.Result, res.Policy, res.Error)
	}
	if res.Claims == nil || res.Claims.MRTD.String() != itaMRTD || res.Claims.VMUniqueID != "D6DA8E8D-5410-4716-A0C7-2FA91EA4A866" {
		t.Errorf("claims = %+v", res.Claims)
	}
	wantNotes := []string{"the TCB status is unknown because no collateral was given (--collateral DIR)", noteTDReportMAC}
	if strings.Join(res.Notes, "\n") != strings.Join(wantNotes, "\n") {
		t.Errorf("notes = %q, want %q", res.Notes, wantNotes)
	}
}

func TestVerifyBase64Quote(t *testing.T) {
	quote, err := os.ReadFile(filepath.Join(testdataDir, "seed-prior-work/azure-tdvm-quote-v4.bin"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "quote.b64")
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(quote)), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCA(t, "verify", "--quote", path, "--runtime-data", "seed-prior-work/azure-tdvm-hcl-runtime-data.json", "--at", azureAt)
	r.assert(t, exitOK, "")
	r.assertLines(t, "vm unique id D2685751-DDE3-4814-A2A2-565A69FE911B")
}

func TestVerifyHCLReportMismatch(t *testing.T) {
	report, err := os.ReadFile(filepath.Join(testdataDir, itaHCLReport))
	if err != nil {
		t.Fatal(err)
	}
	report[32+512+16] ^= 0xff // first byte of the TD report's MRTD
	path := filepath.Join(t.TempDir(), "report.bin")
	if err := os.WriteFile(path, report, 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCA(t, "verify", "--quote", itaQuote, "--hcl-report", path, "--at", azureAt)
	r.assert(t, exitRejected, "rassh-ca verify: rejected: hcl report: the HCL report's TD report has MRTD 44"+itaMRTD[2:]+", the quote "+itaMRTD+"\n")
	r.assertLines(t, "result rejected", "note "+noteTDReportMAC)

	// Another VM's HCL report: its runtime data is not what the quote commits to.
	r = runCA(t, "verify", "--quote", itaQuote, "--hcl-report", "azure-cvm-tooling/hcl-report-tdx.bin", "--at", azureAt)
	r.assert(t, exitRejected, "rassh-ca verify: rejected: runtime-data: report data[0:32] 18bc34a0c5ac43cb8251644a79690f703323cd270100c2b7085000b843899961 "+
		"is not the sha-256 e8f0796193ba21d6d43d2ea4bb6e4081ce4920729b348f39099cd2f65ecb6170 of the runtime data\n")
}

func TestVerifyExpectUserDataMismatch(t *testing.T) {
	other := strings.Repeat("AB", 64)
	r := runCA(t, "verify", "--quote", itaQuote, "--runtime-data", itaRuntimeData, "--at", azureAt, "--expect-user-data", other)
	r.assert(t, exitRejected, "rassh-ca verify: rejected: binding: user data "+itaUserData+" does not match the expected binding "+strings.ToLower(other)+"\n")
	r.assertLines(t, "result rejected")
}

func TestVerifyPolicy(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}

	// The example CA policy requires collateral, which the Azure set lacks.
	r := runCA(t, "verify", "--quote", itaQuote, "--runtime-data", itaRuntimeData, "--at", azureAt, "--policy", "../deploy/ca-policy.yaml")
	r.assert(t, exitRejected, "rassh-ca verify: policy: require_collateral: claims have no TCB status, verify with collateral\n")
	r.assertLines(t, "result rejected", "policy failed")

	offline := write("offline.yaml", "require_collateral: false\nplatforms: [azure-tdx]\nmrtds: ["+itaMRTD+"]\nvm_configuration: {secure_boot: true, tpm_enabled: true}\n")
	r = runCA(t, "verify", "--quote", itaQuote, "--runtime-data", itaRuntimeData, "--at", azureAt, "--policy", offline)
	r.assert(t, exitOK, "")
	r.assertLines(t, "result verified", "policy passed")

	// The dcap-qvl quote whose TCB level is not in Intel's TCB info.
	upToDate := write("uptodate.yaml", "tcb_statuses: [UpToDate]\n")
	r = runCA(t, "verify", "--quote", "dcap-qvl/tdx_quote_outdated.bin", "--collateral", "dcap-qvl/collateral-tdx_quote_outdated",
		"--at", "2026-02-19T00:00:00Z", "--policy", upToDate)
	r.assert(t, exitRejected, "rassh-ca verify: policy: tcb_statuses: TCB status not allowed, allowed: [UpToDate] (value \"NoMatchingTCBLevel\")\n")
	r.assertLines(t, "tcb status NoMatchingTCBLevel, newest level 2024-11-13, crl checked true")
}

func TestVerifyCollateral(t *testing.T) {
	r := runCA(t, "verify", "--quote", "dcap-qvl/tdx_quote.bin", "--collateral", "dcap-qvl/collateral-tdx_quote", "--at", "2025-06-20T00:00:00Z")
	r.assert(t, exitOK, "")
	r.assertLines(t, "platform tdx", "tcb status UpToDate, level of 2024-03-13, newest level 2024-03-13, crl checked true")

	empty := t.TempDir()
	r = runCA(t, "verify", "--quote", "dcap-qvl/tdx_quote.bin", "--collateral", empty, "--at", "2025-06-20T00:00:00Z")
	r.assert(t, exitUndecided, "rassh-ca verify: could not decide: read collateral: "+empty+"/tcbinfo-b0c06f000000.json does not exist\n")
}

const (
	maaToken  = "maa-azure-sdk-python/sharedwus_sgx_token_2022-10-07.jwt"
	maaKeySet = "maa-azure-sdk-python/sharedwus_certs_2022-10-07_signing_key_only.json"
	maaIssuer = "https://sharedwus.wus.attest.azure.net"
)

func TestVerifyMAAToken(t *testing.T) {
	r := runCA(t, "verify", "--token", maaToken, "--jwks", maaKeySet, "--issuer", maaIssuer, "--at", "2022-10-07T13:25:00Z")
	r.assert(t, exitOK, "")
	r.assertLines(t, "result verified", "verifier maa", "issuer "+maaIssuer, "issued at 2022-10-07T13:23:53Z",
		"attestation type sgx", "policy none applied: authenticity and time only")

	r = runCA(t, "verify", "--token", maaToken, "--jwks", maaKeySet, "--issuer", maaIssuer, "--at", "2022-10-08T00:00:00Z")
	r.assert(t, exitRejected, "rassh-ca verify: rejected: token expired: verify token of issuer \"https://sharedwus.wus.attest.azure.net\": token has invalid claims: token is expired\n")
}

func TestVerifyMAATokenKeySetURL(t *testing.T) {
	keySet, err := os.ReadFile(filepath.Join(testdataDir, maaKeySet))
	if err != nil {
		t.Fatal(err)
	}
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/certs" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(keySet)
	}))
	defer server.Close()

	r := runCA(t, "verify", "--token", maaToken, "--jwks", server.URL+"/certs", "--issuer", maaIssuer, "--at", "2022-10-07T13:25:00Z", "--json")
	r.assert(t, exitOK, "")
	var res verifyResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatal(err)
	}
	if res.Claims == nil || res.Claims.AttestationType != "sgx" {
		t.Errorf("claims = %+v", res.Claims)
	}

	// A pinned issuer that the token does not name.
	r = runCA(t, "verify", "--token", maaToken, "--jwks", server.URL+"/certs", "--issuer", "https://other.attest.azure.net", "--at", "2022-10-07T13:25:00Z")
	r.assert(t, exitRejected, "rassh-ca verify: rejected: token issuer: verify token: issuer \"https://sharedwus.wus.attest.azure.net\" is not trusted\n")
}

func TestVerifyUsageErrors(t *testing.T) {
	q, rd := itaQuote, itaRuntimeData
	cases := []struct {
		name string
		args []string
		want string // the first line of stderr
	}{
		{"nothing to verify", nil, "rassh-ca verify: one of --quote or --token is required"},
		{"quote and token", []string{"--quote", q, "--token", maaToken}, "rassh-ca verify: --quote and --token cannot be combined, verify one at a time"},
		{"runtime data and hcl report", []string{"--quote", q, "--runtime-data", rd, "--hcl-report", itaHCLReport},
			"rassh-ca verify: --runtime-data and --hcl-report cannot be combined, the HCL report already contains the runtime data"},
		{"token without jwks", []string{"--token", maaToken, "--issuer", maaIssuer}, "rassh-ca verify: --token requires --jwks and --issuer"},
		{"token with collateral", []string{"--token", maaToken, "--jwks", maaKeySet, "--issuer", maaIssuer, "--collateral", "x"},
			"rassh-ca verify: --runtime-data, --hcl-report and --collateral apply to --quote, not --token"},
		{"quote with issuer", []string{"--quote", q, "--issuer", maaIssuer}, "rassh-ca verify: --jwks and --issuer apply to --token, not --quote"},
		{"invalid time", []string{"--quote", q, "--at", "2026-03-01"},
			`rassh-ca verify: --at: invalid time "2026-03-01", expected RFC 3339 such as 2026-03-01T00:00:00Z`},
		{"short user data", []string{"--quote", q, "--expect-user-data", "abcd"}, "rassh-ca verify: --expect-user-data: 2 bytes, expected 64 (128 hex digits)"},
		{"invalid user data", []string{"--quote", q, "--expect-user-data", "xyz"},
			"rassh-ca verify: --expect-user-data: invalid hex: encoding/hex: invalid byte: U+0078 'x'"},
		{"missing quote file", []string{"--quote", "missing.bin"}, "rassh-ca verify: open missing.bin: no such file or directory"},
		{"missing key set file", []string{"--token", maaToken, "--jwks", "missing.json", "--issuer", maaIssuer},
			"rassh-ca verify: open missing.json: no such file or directory"},
		{"invalid issuer", []string{"--token", maaToken, "--jwks", maaKeySet, "--issuer", "sharedwus"},
			`rassh-ca verify: token verifier: issuer "sharedwus": not an absolute http or https URL`},
		{"missing policy", []string{"--quote", q, "--policy", "missing.yaml"}, "rassh-ca verify: policy: open missing.yaml: no such file or directory"},
		{"argument", []string{"--quote", q, "extra"}, `rassh-ca verify: unexpected argument "extra"`},
		{"unknown flag", []string{"--quotes", q}, "flag provided but not defined: -quotes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runCA(t, append([]string{"verify"}, c.args...)...)
			if r.code != exitUsage {
				t.Errorf("exit status %d, want %d; stderr:\n%s", r.code, exitUsage, r.stderr)
			}
			if first, _, _ := strings.Cut(r.stderr, "\n"); first != c.want {
				t.Errorf("stderr starts with %q, want %q", first, c.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
		})
	}
}

func TestDecodeQuoteEncodings(t *testing.T) {
	binary := []byte{4, 0, 2, 0, 0x81, 0xfe, 0xff}
	cases := map[string][]byte{
		"binary":               binary,
		"base64":               []byte(base64.StdEncoding.EncodeToString(binary)),
		"base64 with newline":  []byte(base64.StdEncoding.EncodeToString(binary) + "\n"),
		"base64url":            []byte(base64.URLEncoding.EncodeToString(binary)),
		"base64url no padding": []byte(base64.RawURLEncoding.EncodeToString(binary)),
	}
	for name, input := range cases {
		got, err := decodeQuote(input)
		if err != nil || !bytes.Equal(got, binary) {
			t.Errorf("%s: decodeQuote = %x, %v; want %x", name, got, err, binary)
		}
	}
	_, err := decodeQuote([]byte("QUJD+-_/"))
	want := "rejected: quote encoding: the quote file is text but not base64 or base64url: illegal base64 data at input byte 4"
	if err == nil || err.Error() != want {
		t.Errorf("mixed alphabets: error = %v, want %s", err, want)
	}
}

// Inputs rejected before any claims exist exit 1 with the reason, and --json
// still prints the result.
func TestVerifyRejectsMalformedFilesWithoutClaims(t *testing.T) {
	dir := t.TempDir()
	textQuote := filepath.Join(dir, "quote.txt")
	if err := os.WriteFile(textQuote, []byte("A\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "report.bin")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte{0x5a}, 3000), 0o600); err != nil {
		t.Fatal(err)
	}

	r := runCA(t, "verify", "--quote", textQuote)
	r.assert(t, exitRejected, "rassh-ca verify: rejected: quote encoding: the quote file is text but not base64 or base64url: illegal base64 data at input byte 0\n")

	r = runCA(t, "verify", "--quote", itaQuote, "--hcl-report", garbage, "--json")
	if r.code != exitRejected || !strings.HasPrefix(r.stderr, "rassh-ca verify: rejected: hcl report: ") {
		t.Errorf("garbage HCL report: exit status %d, stderr %q", r.code, r.stderr)
	}
	var res verifyResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
	if res.Result != "rejected" || res.Error == nil || res.Error.Check != "hcl report" {
		t.Errorf("result %q, error %+v", res.Result, res.Error)
	}
}

func TestVerifyAzureQuoteWithoutRuntimeDataNote(t *testing.T) {
	r := runCA(t, "verify", "--quote", "ita-aztdx/azure_td_quote.bin", "--at", azureAt)
	r.assert(t, exitOK, "")
	r.assertLines(t, "platform tdx", "note "+noteAzureShape)

	plain := runCA(t, "verify", "--quote", "go-tdx-guest/tdx_prod_quote_SPR_E4.dat", "--at", "2023-07-01T00:00:00Z")
	plain.assert(t, exitOK, "")
	if strings.Contains(plain.stdout, "REPORTDATA[32:64] is zero") {
		t.Errorf("a quote with non-zero REPORTDATA[32:64] got the Azure note:\n%s", plain.stdout)
	}
}

func TestSubcommandHelpExitsZero(t *testing.T) {
	r := runCA(t, "verify", "-h")
	if first, _, _ := strings.Cut(r.stderr, "\n"); r.code != exitOK || first != "usage: rassh-ca verify --quote FILE [--runtime-data FILE | --hcl-report FILE] [--collateral DIR] [flags]" {
		t.Errorf("rassh-ca verify -h: exit %d, stderr starts with %q", r.code, first)
	}
	for _, args := range [][]string{{"init", "--help"}, {"admin", "-h"}, {"--help"}} {
		r := runCA(t, args...)
		if r.code != exitOK || !strings.Contains(r.stderr, "usage") && !strings.Contains(r.stderr, "Usage") {
			t.Errorf("rassh-ca %q: exit %d, stderr %q; want 0 and a usage text", args, r.code, r.stderr)
		}
	}
	if r := runCA(t, "verify", "--bogus"); r.code != exitUsage {
		t.Errorf("rassh-ca verify --bogus: exit %d, want %d", r.code, exitUsage)
	}
}

func TestAdminCommandErrors(t *testing.T) {
	r := runCA(t, "admin", "frob")
	if first, _, _ := strings.Cut(r.stderr, "\n"); r.code != exitUsage || first != `rassh-ca admin: unknown command "frob"` {
		t.Errorf("admin frob: exit %d, stderr starts with %q", r.code, first)
	}

	r = runCA(t, "admin", "revoke", "--ca", "https://127.0.0.1:1", "--admin-token-file", "/dev/null", "--insecure")
	if r.code != exitUsage || r.stderr != "rassh-ca admin revoke: give exactly one of --serial, --host-key and --identity (got 0)\n" {
		t.Errorf("revoke without a target: exit %d, stderr %q", r.code, r.stderr)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r = runCA(t, "admin", "hosts", "--ca", "https://"+addr, "--admin-token-file", "/dev/null", "--insecure")
	if !strings.Contains(r.stderr, "connection refused; check that rassh-ca serve is running and that --ca names its listen address") {
		t.Errorf("refused connection: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestVerifyFlagErrorPrintedOnce(t *testing.T) {
	r := runCA(t, "verify", "--quote")
	if r.code != exitUsage || strings.Count(r.stderr, "flag needs an argument: -quote") != 1 {
		t.Errorf("exit %d, stderr %q; want %d and the flag error once", r.code, r.stderr, exitUsage)
	}
}
