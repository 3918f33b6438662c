package tdx

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/rassh/rassh/verifier"
)

// layout holds region offsets of a quote, computed here from Intel's quote
// format independently of parseQuote.
type layout struct {
	body, sizeField, signature, attestKey, certHeader, qeReport, qeSignature int
	authSize, authData, pckHeader, chain, signedEnd                          int
}

func layoutOf(t *testing.T, raw []byte) layout {
	t.Helper()
	var l layout
	switch binary.LittleEndian.Uint16(raw) {
	case 4:
		l.body = 48
		l.sizeField = 48 + 584
	case 5:
		l.body = 48 + 6
		l.sizeField = l.body + int(binary.LittleEndian.Uint32(raw[50:]))
	default:
		t.Fatal("not a quote v4 or v5")
	}
	l.signature = l.sizeField + 4
	l.attestKey = l.signature + 64
	l.certHeader = l.attestKey + 64
	l.qeReport = l.certHeader + 6
	l.qeSignature = l.qeReport + 384
	l.authSize = l.qeSignature + 64
	l.authData = l.authSize + 2
	l.pckHeader = l.authData + int(binary.LittleEndian.Uint16(raw[l.authSize:]))
	l.chain = l.pckHeader + 6
	l.signedEnd = l.signature + int(binary.LittleEndian.Uint32(raw[l.sizeField:]))
	return l
}

type tamperCase struct {
	name  string
	off   int
	check string
	msg   string
}

func assertRejected(t *testing.T, err error, check, msg string) {
	t.Helper()
	var rej *verifier.RejectedError
	if !errors.As(err, &rej) {
		t.Fatalf("err = %v, want *verifier.RejectedError", err)
	}
	if rej.Check != check {
		t.Errorf("Check = %q, want %q", rej.Check, check)
	}
	if got := rej.Err.Error(); got != msg {
		t.Errorf("message = %q\nwant      %q", got, msg)
	}
}

// Messages of the v4 path come from go-tdx-guest v0.3.1, those of the v5
// path from this package.
const (
	v4QuoteSig = "unable to verify message digest using quote's signature and ecdsa attestation key"
	v4QESig    = "error verifying QE report signature: QE report's signature verification using PCK Leaf Certificate failed: x509: ECDSA verification failure"
	v4AKHash   = "error verifying QE report data: QE Report Data does not match with value of SHA 256 calculated over the concatenation of ECDSA Attestation Key and QE Authenticated Data"
	v5QuoteSig = "quote signature does not verify with the attestation key"
	v5QESig    = "QE report signature does not verify with the PCK certificate key"
	v5AKHash   = "QE report data is not SHA-256 of the attestation key and QE authentication data"
	pckCAFail  = `x509: certificate signed by unknown authority (possibly because of "x509: ECDSA verification failure" while trying to verify candidate authority certificate "Intel SGX PCK Platform CA")`
)

// bodyFlips flips one byte in every field of the TD report body; the quote
// signature covers all of them.
func bodyFlips(l layout, check, msg string, td15 bool) []tamperCase {
	fields := []struct {
		name string
		off  int
	}{
		{"TEE_TCB_SVN", 0}, {"MRSEAM", 16}, {"MRSIGNERSEAM", 64}, {"SEAM attributes", 112},
		{"TD attributes", 120}, {"XFAM", 128}, {"MRTD", 136}, {"MRCONFIGID", 184}, {"MROWNER", 232},
		{"MROWNERCONFIG", 280}, {"RTMR0", 328}, {"RTMR1", 376}, {"RTMR2", 424}, {"RTMR3", 472},
		{"report data", 520}, {"report data last byte", 583},
	}
	if td15 {
		fields = append(fields, struct {
			name string
			off  int
		}{"TEE_TCB_SVN_2", 584}, struct {
			name string
			off  int
		}{"MRSERVICETD", 600})
	}
	var cases []tamperCase
	for _, f := range fields {
		cases = append(cases, tamperCase{"body " + f.name, l.body + f.off + 7%8, check, msg})
	}
	return cases
}

func TestTamperQuoteV4(t *testing.T) {
	raw := readFile(t, "../../testdata/dcap-qvl/tdx_quote.bin")
	l := layoutOf(t, raw)
	cases := []tamperCase{
		{"header version", 0, checkFormat, "parse quote: body type 262 is not a TD report (want 2 or 3)"},
		{"header attestation key type", 2, checkFormat, "parse quote: attestation key type 3 is not supported (want 2, ECDSA P-256)"},
		{"header TEE type", 4, checkFormat, "parse quote: TEE type 0x80 is not TDX (0x81)"},
		{"header QE SVN", 8, checkQuoteSignature, v4QuoteSig},
		{"header PCE SVN", 10, checkQuoteSignature, v4QuoteSig},
		{"header QE vendor ID", 20, checkQuoteSignature, v4QuoteSig},
		{"header user data", 40, checkQuoteSignature, v4QuoteSig},
		{"signed data size", l.sizeField, checkFormat, "parse quote: QE report certification data size 4166 does not match the 4167 bytes that follow"},
		{"quote signature", l.signature + 10, checkQuoteSignature, v4QuoteSig},
		{"attestation key", l.attestKey + 10, checkQuoteSignature, `attestation key in the quote is invalid: public key is not on curve "P-256"`},
		{"certification data type", l.certHeader, checkFormat, "parse quote: QE report certification data has type 7 (want 6)"},
		{"certification data size", l.certHeader + 2, checkFormat, "parse quote: QE report certification data size 4167 does not match the 4166 bytes that follow"},
		{"QE report", l.qeReport + 10, checkQESignature, v4QESig},
		{"QE report data", l.qeReport + 330, checkQESignature, v4QESig},
		{"QE report signature", l.qeSignature + 10, checkQESignature, v4QESig},
		{"QE auth data size", l.authSize, checkFormat, "parse quote: PCK certificate chain has type 24064 (want 5)"},
		{"QE auth data", l.authData + 5, checkAttestationKeyHash, v4AKHash},
		{"PCK chain type", l.pckHeader, checkFormat, "parse quote: PCK certificate chain has type 4 (want 5)"},
		{"PCK chain size", l.pckHeader + 2, checkFormat, "parse quote: PCK certificate chain size 3679 does not match the 3678 bytes that follow"},
		{"PCK leaf certificate", l.chain + 200, checkChain, "parse PCK chain: certificate 1: x509: invalid RDNSequence: invalid attribute value: invalid UTF-8 string"},
		{"PCK CA certificate", l.chain + 1500, checkChain, `verify PCK chain of "Intel SGX PCK Certificate" at 2025-06-20T00:00:00Z: ` + pckCAFail},
		{"root certificate", l.chain + 3000, checkChain, "parse PCK chain: certificate 3: x509: malformed UTCTime"},
	}
	cases = append(cases, bodyFlips(l, checkQuoteSignature, v4QuoteSig, false)...)
	runFlips(t, raw, cases, time.Date(2025, 6, 20, 0, 0, 0, 0, time.UTC))
}

func TestTamperQuoteV5(t *testing.T) {
	raw := readFile(t, "../../testdata/dcap-qvl/tdx_quote_outdated.bin")
	l := layoutOf(t, raw)
	cases := []tamperCase{
		{"header version", 0, checkFormat, "parse quote: quote signature at offset 636 needs 64 bytes, 0 left"},
		{"header attestation key type", 2, checkFormat, "parse quote: attestation key type 3 is not supported (want 2, ECDSA P-256)"},
		{"header TEE type", 4, checkFormat, "parse quote: TEE type 0x80 is not TDX (0x81)"},
		{"header QE SVN", 8, checkQuoteSignature, v5QuoteSig},
		{"header QE vendor ID", 20, checkQuoteSignature, v5QuoteSig},
		{"header user data", 40, checkQuoteSignature, v5QuoteSig},
		{"body type", 48, checkFormat, "parse quote: body size 648 does not match body type 2 (want 584)"},
		{"body size", 50, checkFormat, "parse quote: body size 649 does not match body type 3 (want 648)"},
		{"signed data size", l.sizeField, checkFormat, "parse quote: signed data at offset 706 needs 4301 bytes, 4300 left"},
		{"quote signature", l.signature + 10, checkQuoteSignature, v5QuoteSig},
		{"attestation key", l.attestKey + 10, checkQuoteSignature, "attestation key in the quote is invalid: P256 point not on curve"},
		{"certification data type", l.certHeader, checkFormat, "parse quote: QE report certification data has type 7 (want 6)"},
		{"certification data size", l.certHeader + 2, checkFormat, "parse quote: QE report certification data size 4167 does not match the 4166 bytes that follow"},
		{"QE report", l.qeReport + 10, checkQESignature, v5QESig},
		{"QE report data", l.qeReport + 330, checkQESignature, v5QESig},
		{"QE report signature", l.qeSignature + 10, checkQESignature, v5QESig},
		{"QE auth data size", l.authSize, checkFormat, "parse quote: PCK certificate chain has type 24064 (want 5)"},
		{"QE auth data", l.authData + 5, checkAttestationKeyHash, v5AKHash},
		{"PCK chain type", l.pckHeader, checkFormat, "parse quote: PCK certificate chain has type 4 (want 5)"},
		{"PCK chain size", l.pckHeader + 2, checkFormat, "parse quote: PCK certificate chain size 3679 does not match the 3678 bytes that follow"},
		{"PCK leaf certificate", l.chain + 200, checkChain, `verify PCK chain of "Intel SGX PCK Certificate" at 2026-02-19T00:00:00Z: x509: certificate signed by unknown authority`},
		{"PCK CA certificate", l.chain + 1500, checkChain, `verify PCK chain of "Intel SGX PCK Certificate" at 2026-02-19T00:00:00Z: ` + pckCAFail},
		{"root certificate", l.chain + 3000, checkChain, "parse PCK chain: certificate 3: x509: malformed UTCTime"},
	}
	cases = append(cases, bodyFlips(l, checkQuoteSignature, v5QuoteSig, true)...)
	runFlips(t, raw, cases, time.Date(2026, 2, 19, 0, 0, 0, 0, time.UTC))
}

func runFlips(t *testing.T, raw []byte, cases []tamperCase, at time.Time) {
	t.Helper()
	v := &Verifier{Now: func() time.Time { return at }}
	if _, err := v.VerifyQuote(context.Background(), raw); err != nil {
		t.Fatalf("untampered quote: %v", err)
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s at %d", tc.name, tc.off), func(t *testing.T) {
			b := append([]byte(nil), raw...)
			b[tc.off] ^= 0x01
			_, err := v.VerifyQuote(context.Background(), b)
			assertRejected(t, err, tc.check, tc.msg)
		})
	}
}

// TestTruncateQuote cuts a quote at every region boundary. The signed data
// size comes before the signed data, so every cut inside it fails on that
// size; TestTruncateInsideSignedData fixes the sizes up to reach the inner
// checks.
func TestTruncateQuote(t *testing.T) {
	for _, path := range []string{"../../testdata/dcap-qvl/tdx_quote.bin", "../../testdata/dcap-qvl/tdx_quote_outdated.bin"} {
		raw := readFile(t, path)
		l := layoutOf(t, raw)
		signedSize := l.signedEnd - l.signature
		need := func(off int) string {
			return fmt.Sprintf("parse quote: signed data at offset %d needs %d bytes, %d left", l.signature, signedSize, off-l.signature)
		}
		cases := []struct {
			at  int
			msg string
		}{
			{0, "parse quote: header at offset 0 needs 48 bytes, 0 left"},
			{47, "parse quote: header at offset 0 needs 48 bytes, 47 left"},
			{l.sizeField, fmt.Sprintf("parse quote: signed data size at offset %d needs 4 bytes, 0 left", l.sizeField)},
			{l.sizeField + 3, fmt.Sprintf("parse quote: signed data size at offset %d needs 4 bytes, 3 left", l.sizeField)},
			{l.signature, need(l.signature)},
			{l.attestKey, need(l.attestKey)},
			{l.certHeader, need(l.certHeader)},
			{l.qeReport, need(l.qeReport)},
			{l.qeSignature, need(l.qeSignature)},
			{l.authSize, need(l.authSize)},
			{l.authData, need(l.authData)},
			{l.pckHeader, need(l.pckHeader)},
			{l.chain, need(l.chain)},
			{l.signedEnd - 1, need(l.signedEnd - 1)},
		}
		if l.body == 48 {
			cases = append(cases,
				struct {
					at  int
					msg string
				}{48, "parse quote: TD quote body at offset 48 needs 584 bytes, 0 left"},
				struct {
					at  int
					msg string
				}{l.sizeField - 1, "parse quote: TD quote body at offset 48 needs 584 bytes, 583 left"})
		} else {
			cases = append(cases,
				struct {
					at  int
					msg string
				}{48, "parse quote: body type at offset 48 needs 2 bytes, 0 left"},
				struct {
					at  int
					msg string
				}{50, "parse quote: body size at offset 50 needs 4 bytes, 0 left"},
				struct {
					at  int
					msg string
				}{54, "parse quote: TD quote body at offset 54 needs 648 bytes, 0 left"},
				struct {
					at  int
					msg string
				}{l.sizeField - 1, "parse quote: TD quote body at offset 54 needs 648 bytes, 647 left"})
		}
		v := &Verifier{Now: func() time.Time { return time.Date(2026, 2, 19, 0, 0, 0, 0, time.UTC) }}
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%s at %d", path, tc.at), func(t *testing.T) {
				_, err := v.VerifyQuote(context.Background(), raw[:tc.at])
				assertRejected(t, err, checkFormat, tc.msg)
			})
		}
	}
}

// TestTruncateInsideSignedData cuts the signed data at each inner boundary
// and rewrites the signed data size and the certification data size to
// match, so the parser's inner bounds checks are what fail.
func TestTruncateInsideSignedData(t *testing.T) {
	raw := readFile(t, "../../testdata/dcap-qvl/tdx_quote_outdated.bin")
	l := layoutOf(t, raw)
	cases := []struct {
		at  int
		msg string
	}{
		{l.signature + 10, fmt.Sprintf("parse quote: quote signature at offset %d needs 64 bytes, 10 left", l.signature)},
		{l.attestKey + 10, fmt.Sprintf("parse quote: attestation key at offset %d needs 64 bytes, 10 left", l.attestKey)},
		{l.certHeader + 1, fmt.Sprintf("parse quote: QE report certification data type at offset %d needs 2 bytes, 1 left", l.certHeader)},
		{l.qeReport, fmt.Sprintf("parse quote: QE report at offset %d needs 384 bytes, 0 left", l.qeReport)},
		{l.qeSignature, fmt.Sprintf("parse quote: QE report signature at offset %d needs 64 bytes, 0 left", l.qeSignature)},
		{l.authSize, fmt.Sprintf("parse quote: QE authentication data size at offset %d needs 2 bytes, 0 left", l.authSize)},
		{l.authData + 1, fmt.Sprintf("parse quote: QE authentication data at offset %d needs 32 bytes, 1 left", l.authData)},
		{l.pckHeader, fmt.Sprintf("parse quote: PCK certificate chain type at offset %d needs 2 bytes, 0 left", l.pckHeader)},
		{l.pckHeader + 2, fmt.Sprintf("parse quote: PCK certificate chain size at offset %d needs 4 bytes, 0 left", l.pckHeader+2)},
		{l.chain + 100, "parse quote: PCK certificate chain size 3678 does not match the 100 bytes that follow"},
	}
	v := &Verifier{Now: func() time.Time { return time.Date(2026, 2, 19, 0, 0, 0, 0, time.UTC) }}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.at), func(t *testing.T) {
			b := append([]byte(nil), raw[:tc.at]...)
			binary.LittleEndian.PutUint32(b[l.sizeField:], uint32(tc.at-l.signature))
			if tc.at >= l.qeReport {
				binary.LittleEndian.PutUint32(b[l.certHeader+2:], uint32(tc.at-l.qeReport))
			}
			_, err := v.VerifyQuote(context.Background(), b)
			assertRejected(t, err, checkFormat, tc.msg)
		})
	}
}

// TestPaddingIgnored covers the bytes that no check covers: everything after
// the signed data. tdx_quote.bin carries 70 zero bytes there, and real
// drivers hand out fixed-size buffers (cos-113-tdx-quote.dat is 8000 bytes).
func TestPaddingIgnored(t *testing.T) {
	raw := readFile(t, "../../testdata/dcap-qvl/tdx_quote.bin")
	l := layoutOf(t, raw)
	if pad := len(raw) - l.signedEnd; pad != 70 {
		t.Fatalf("padding is %d bytes, want 70", pad)
	}
	v := &Verifier{Now: func() time.Time { return time.Date(2025, 6, 20, 0, 0, 0, 0, time.UTC) }}
	want, err := v.VerifyQuote(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	for off := l.signedEnd; off < len(raw); off++ {
		b := append([]byte(nil), raw...)
		b[off] ^= 0xff
		c, err := v.VerifyQuote(context.Background(), b)
		if err != nil {
			t.Fatalf("flip at padding offset %d: %v", off, err)
		}
		if c.MRTD.String() != want.MRTD.String() || c.ReportData.String() != want.ReportData.String() {
			t.Fatalf("flip at padding offset %d changed the claims", off)
		}
	}
	if _, err := v.VerifyQuote(context.Background(), raw[:l.signedEnd]); err != nil {
		t.Errorf("quote without padding: %v", err)
	}
}
