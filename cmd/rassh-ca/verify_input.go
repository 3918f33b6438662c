package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/azure"
	"github.com/rassh/rassh/verifier/local"
	"github.com/rassh/rassh/verifier/tdx"
	"github.com/rassh/rassh/verifier/token"
)

// noteTDReportMAC is printed whenever an HCL report is given.
const noteTDReportMAC = "the TD report's MAC was not checked: only the TDX module of the platform that made it can check it, " +
	"so the TD report is trusted through the quote made from it"

// verifyQuote verifies --quote, with --runtime-data or --hcl-report on Azure.
func verifyQuote(ctx context.Context, o *verifyOptions) (*verifyResult, error) {
	ev, report, err := readEvidence(o)
	if err != nil {
		return nil, err
	}

	quotes := &tdx.Verifier{Now: func() time.Time { return o.at }}
	if o.collateralDir != "" {
		quotes.Collateral = tdx.NewDirCollateral(o.collateralDir)
	}
	res := &verifyResult{}
	claims, err := (&local.Backend{Quotes: quotes}).Verify(ctx, ev)
	if err != nil {
		return res, err
	}
	res.Claims = claims
	if claims.TCB == nil {
		res.Notes = append(res.Notes, "the TCB status is unknown because no collateral was given (--collateral DIR)")
	}
	if ev.Kind == verifier.EvidenceTDXQuote && looksLikeAzure(claims.ReportData) {
		res.Notes = append(res.Notes, noteAzureShape)
	}
	if report != nil {
		res.Notes = append(res.Notes, noteTDReportMAC)
		if err := compareTDReport(report.TDReport, claims); err != nil {
			return res, err
		}
	}
	return res, nil
}

// readEvidence reads --quote and the Azure runtime data of --runtime-data or
// --hcl-report. The HCL report is nil unless --hcl-report is given.
func readEvidence(o *verifyOptions) (verifier.Evidence, *azure.HCLReport, error) {
	raw, err := readInput(o.quotePath, 4*verifier.MaxQuoteSize)
	if err != nil {
		return verifier.Evidence{}, nil, err
	}
	quote, err := decodeQuote(raw)
	if err != nil {
		return verifier.Evidence{}, nil, err
	}

	ev := verifier.Evidence{Kind: verifier.EvidenceTDXQuote, Quote: quote}
	switch {
	case o.runtimeDataPath != "":
		if ev.RuntimeData, err = readInput(o.runtimeDataPath, verifier.MaxRuntimeDataSize+1); err != nil {
			return verifier.Evidence{}, nil, err
		}
		ev.Kind = verifier.EvidenceAzureTDX
	case o.hclReportPath != "":
		b, err := readInput(o.hclReportPath, azure.MaxHCLReportSize+1)
		if err != nil {
			return verifier.Evidence{}, nil, err
		}
		report, err := azure.ParseHCLReport(b)
		if err != nil {
			return verifier.Evidence{}, nil, &verifier.RejectedError{Check: "hcl report", Err: err}
		}
		ev.Kind = verifier.EvidenceAzureTDX
		ev.RuntimeData = report.RuntimeData
		return ev, report, nil
	}
	return ev, nil, nil
}

// decodeQuote returns a binary quote as is and decodes one written as base64
// or base64url text, with or without padding.
func decodeQuote(b []byte) ([]byte, error) {
	text := strings.TrimSpace(string(b))
	if text == "" || strings.IndexFunc(text, notBase64Rune) >= 0 {
		return b, nil
	}
	encoding := base64.StdEncoding
	if strings.ContainsAny(text, "-_") {
		encoding = base64.URLEncoding
	}
	quote, err := encoding.WithPadding(base64.NoPadding).DecodeString(strings.TrimRight(text, "="))
	if err != nil {
		return nil, verifier.Reject("quote encoding", "the quote file is text but not base64 or base64url: %v", err)
	}
	return quote, nil
}

func notBase64Rune(r rune) bool {
	return !('A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || strings.ContainsRune("+/-_=", r))
}

// compareTDReport checks that the quote repeats the HCL report's TD report.
func compareTDReport(td *azure.TDReport, c *verifier.Claims) error {
	fields := []struct {
		name          string
		report, quote []byte
	}{
		{"report data", td.ReportData, c.ReportData},
		{"MRTD", td.MRTD, c.MRTD},
		{"RTMR0", td.RTMRs[0], c.RTMRs[0]},
		{"RTMR1", td.RTMRs[1], c.RTMRs[1]},
		{"RTMR2", td.RTMRs[2], c.RTMRs[2]},
		{"RTMR3", td.RTMRs[3], c.RTMRs[3]},
		{"MRCONFIGID", td.MRConfigID, c.MRConfigID},
		{"MROWNER", td.MROwner, c.MROwner},
		{"MROWNERCONFIG", td.MROwnerConfig, c.MROwnerConfig},
		{"MRSEAM", td.MRSeam, c.MRSeam},
		{"TD attributes", td.TDAttributes, c.TDAttributes},
		{"XFAM", td.XFAM, c.XFAM},
		{"TEE TCB SVN", td.TEETCBSVN, c.TEETCBSVN},
	}
	for _, f := range fields {
		if !bytes.Equal(f.report, f.quote) {
			return verifier.Reject("hcl report", "the HCL report's TD report has %s %x, the quote %x", f.name, f.report, f.quote)
		}
	}
	return nil
}

// verifyToken verifies --token against the key set --jwks of --issuer.
func verifyToken(ctx context.Context, o *verifyOptions) (*verifyResult, error) {
	raw, err := readInput(o.tokenPath, 1<<20)
	if err != nil {
		return nil, err
	}
	jwt := strings.TrimSpace(string(raw))

	config := token.IssuerConfig{Issuer: o.issuer, Kind: tokenKind(jwt)}
	v := &token.Verifier{Now: func() time.Time { return o.at }}
	if strings.HasPrefix(o.jwks, "https://") || strings.HasPrefix(o.jwks, "http://") {
		config.JWKSURL = o.jwks
	} else {
		keySet, err := readInput(o.jwks, 1<<20)
		if err != nil {
			return nil, err
		}
		config.JWKSURL, v.HTTPClient = fileKeySet(o.jwks, keySet)
	}
	v.Issuers = []token.IssuerConfig{config}
	if err := v.Validate(); err != nil {
		return nil, &usageError{err}
	}

	res := &verifyResult{}
	claims, err := v.Verify(ctx, jwt, "")
	if err != nil {
		return res, err
	}
	res.Claims = claims
	return res, nil
}

// tokenKind picks the issuer kind from the unverified payload: tokens of the
// rassh token service carry a "rassh" claim. The choice only selects how
// claims are read, and the signature is checked either way.
func tokenKind(jwt string) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return token.KindMAA
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return token.KindMAA
	}
	var body map[string]json.RawMessage
	if json.Unmarshal(payload, &body) != nil {
		return token.KindMAA
	}
	if _, ok := body["rassh"]; ok {
		return token.KindRassh
	}
	return token.KindMAA
}

// fileKeySet serves a key set read from a file to the token verifier, which
// fetches key sets over HTTP. The returned client responds to every request
// with the file's content and never opens a connection. The returned URL
// names the file, so that errors point at it.
func fileKeySet(path string, keySet []byte) (string, *http.Client) {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	u := url.URL{Scheme: "http", Host: "jwks-file.invalid", Path: filepath.ToSlash(abs)}
	return u.String(), &http.Client{Transport: staticResponse(keySet)}
}

type staticResponse []byte

func (s staticResponse) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: http.StatusOK,
		Status:     "200 OK",
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(bytes.NewReader(s)),
		Request:    r,
	}, nil
}

// readInput reads at most limit bytes of a file the operator named; a file
// that cannot be read is a usage error.
func readInput(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &usageError{err}
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit))
	if err != nil {
		return nil, &usageError{fmt.Errorf("read %s: %w", path, err)}
	}
	return b, nil
}

// noteAzureShape is printed for a plain quote whose REPORTDATA has the shape
// of an Azure CVM's: a SHA-256 in the first half and zeros in the second.
const noteAzureShape = "REPORTDATA[32:64] is zero, as in an Azure CVM's quote, whose REPORTDATA[0:32] is the SHA-256 of its runtime data: pass --runtime-data FILE or --hcl-report FILE to check it"

func looksLikeAzure(reportData []byte) bool {
	if len(reportData) != 64 {
		return false
	}
	for _, b := range reportData[32:] {
		if b != 0 {
			return false
		}
	}
	for _, b := range reportData[:32] {
		if b != 0 {
			return true
		}
	}
	return false
}
