package tokenissuer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rassh/rassh/api/wire"
	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/local"
	"github.com/rassh/rassh/verifier/tdx"
	"github.com/rassh/rassh/verifier/tdx/tdxsim"
	"github.com/rassh/rassh/verifier/tokenissuer"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// simulatedTD makes a quote from a simulated TD and the local backend that
// trusts its simulation root.
func simulatedTD(t *testing.T) (verifier.Evidence, *local.Backend) {
	t.Helper()
	authority, err := tdxsim.NewAuthority(testNow.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var reportData [64]byte
	copy(reportData[:], bytes.Repeat([]byte{0x42}, 64))
	quote, err := authority.Quote(reportData, tdxsim.TDConfig{MRTD: bytes.Repeat([]byte{1}, 48)})
	if err != nil {
		t.Fatal(err)
	}
	backend := &local.Backend{Quotes: &tdx.Verifier{SimulationRoots: authority.RootPool(), Now: func() time.Time { return testNow }}}
	return verifier.Evidence{Kind: verifier.EvidenceTDXQuote, Quote: quote}, backend
}

func postAttest(t *testing.T, url string, body []byte) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Post(url+"/v1/attest", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

func attestBody(t *testing.T, ev verifier.Evidence) []byte {
	t.Helper()
	body, err := json.Marshal(wire.AttestRequest{Evidence: ev})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func wantError(t *testing.T, resp *http.Response, body []byte, status int, code string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status = %d (%s), want %d", resp.StatusCode, body, status)
	}
	var e wire.Error
	if err := json.Unmarshal(body, &e); err != nil || e.Code != code || e.Error == "" {
		t.Fatalf("error body = %s, want code %q and a message", body, code)
	}
}

func TestAttestSimulatedAllowed(t *testing.T) {
	ev, backend := simulatedTD(t)
	_, server, v := serveIssuer(t, backend, tokenissuer.HandlerOptions{AllowSimulated: true, Logger: quietLog})

	resp, body := postAttest(t, server.URL, attestBody(t, ev))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var answer wire.AttestResponse
	if err := json.Unmarshal(body, &answer); err != nil {
		t.Fatal(err)
	}

	c, err := v.Verify(context.Background(), answer.Token, "web.example.com")
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !c.Simulated || c.Verifier != verifier.VerifierRassh || c.Issuer != server.URL {
		t.Errorf("Simulated %v Verifier %q Issuer %q", c.Simulated, c.Verifier, c.Issuer)
	}
	if !bytes.Equal(c.ReportData, bytes.Repeat([]byte{0x42}, 64)) || !bytes.Equal(c.MRTD, bytes.Repeat([]byte{1}, 48)) {
		t.Errorf("ReportData %s MRTD %s", c.ReportData, c.MRTD)
	}
	if c.QuoteVersion != 4 || c.TEE != "tdx" {
		t.Errorf("QuoteVersion %d TEE %q", c.QuoteVersion, c.TEE)
	}
}

func TestAttestSimulatedRefusedByDefault(t *testing.T) {
	ev, backend := simulatedTD(t)
	_, server, _ := serveIssuer(t, backend, tokenissuer.HandlerOptions{Logger: quietLog})
	resp, body := postAttest(t, server.URL, attestBody(t, ev))
	wantError(t, resp, body, http.StatusForbidden, "simulated_evidence")
}

func TestAttestTamperedQuote(t *testing.T) {
	ev, backend := simulatedTD(t)
	ev.Quote[len(ev.Quote)-10] ^= 1
	_, server, _ := serveIssuer(t, backend, tokenissuer.HandlerOptions{AllowSimulated: true, Logger: quietLog})
	resp, body := postAttest(t, server.URL, attestBody(t, ev))
	wantError(t, resp, body, http.StatusUnprocessableEntity, "evidence_rejected")
}

// fakeVerifier returns a fixed error. It replaces the local backend for the
// error classes that the real one cannot be made to return here.
type fakeVerifier struct{ err error }

func (f fakeVerifier) Verify(context.Context, verifier.Evidence) (*verifier.Claims, error) {
	return nil, f.err
}

func TestAttestVerifierErrorClasses(t *testing.T) {
	tests := []struct {
		err    error
		status int
		code   string
	}{
		{&verifier.PolicyError{Rule: "mrtd", Value: "00"}, http.StatusForbidden, "policy_rejected"},
		{&verifier.UndecidedError{Op: "collateral"}, http.StatusServiceUnavailable, "undecided"},
		{io.ErrUnexpectedEOF, http.StatusInternalServerError, "internal"},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			_, server, _ := serveIssuer(t, fakeVerifier{tc.err}, tokenissuer.HandlerOptions{Logger: quietLog})
			resp, body := postAttest(t, server.URL, attestBody(t, verifier.Evidence{Kind: verifier.EvidenceTDXQuote, Quote: []byte{1}}))
			wantError(t, resp, body, tc.status, tc.code)
		})
	}
}

func TestAttestBadRequests(t *testing.T) {
	ev, backend := simulatedTD(t)
	// One source sends every case, so its own limit must cover them all.
	opts := tokenissuer.HandlerOptions{AllowSimulated: true, Logger: quietLog, MaxBodySize: 32 << 10, BurstPerSource: 100}
	_, server, _ := serveIssuer(t, backend, opts)
	valid := attestBody(t, ev)

	tests := []struct {
		name   string
		body   []byte
		status int
		code   string
	}{
		{"unknown field", []byte(`{"evidence":{"kind":"tdx-quote","quote":"AQ=="},"nonce":"x"}`), http.StatusBadRequest, "invalid_request"},
		{"unknown evidence field", []byte(`{"evidence":{"kind":"tdx-quote","quote":"AQ==","extra":1}}`), http.StatusBadRequest, "invalid_request"},
		{"trailing data", append(bytes.Clone(valid), []byte(`{}`)...), http.StatusBadRequest, "invalid_request"},
		{"not JSON", []byte(`quote=1`), http.StatusBadRequest, "invalid_request"},
		{"oversized", []byte(`{"evidence":{"kind":"tdx-quote","quote":"` + strings.Repeat("A", 40<<10) + `"}}`), http.StatusRequestEntityTooLarge, "body_too_large"},
		{"unknown kind", []byte(`{"evidence":{"kind":"sev-snp","quote":"AQ=="}}`), http.StatusBadRequest, "invalid_request"},
		{"no evidence", []byte(`{}`), http.StatusBadRequest, "invalid_request"},
		{"no quote", []byte(`{"evidence":{"kind":"tdx-quote"}}`), http.StatusBadRequest, "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := postAttest(t, server.URL, tc.body)
			wantError(t, resp, body, tc.status, tc.code)
		})
	}
}

func TestAttestRateLimited(t *testing.T) {
	ev, backend := simulatedTD(t)
	// The issuer's clock does not advance, so the bucket never refills.
	_, server, _ := serveIssuer(t, backend, tokenissuer.HandlerOptions{AllowSimulated: true, Logger: quietLog, Rate: 0.5, Burst: 2})
	body := attestBody(t, ev)

	for i := range 2 {
		if resp, data := postAttest(t, server.URL, body); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: status %d: %s", i, resp.StatusCode, data)
		}
	}
	resp, data := postAttest(t, server.URL, body)
	wantError(t, resp, data, http.StatusTooManyRequests, "rate_limited")
	if got := resp.Header.Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After = %q, want 2 (one token at 0.5 per second)", got)
	}
}

func TestAttestRateLimitPerSource(t *testing.T) {
	ev, backend := simulatedTD(t)
	opts := tokenissuer.HandlerOptions{AllowSimulated: true, Logger: quietLog, RatePerSource: 0.5, BurstPerSource: 2}
	issuer, server, _ := serveIssuer(t, backend, opts)
	body := attestBody(t, ev)

	for i := range 2 {
		if resp, data := postAttest(t, server.URL, body); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: status %d: %s", i, resp.StatusCode, data)
		}
	}
	resp, data := postAttest(t, server.URL, body)
	wantError(t, resp, data, http.StatusTooManyRequests, "rate_limited")
	if got := resp.Header.Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After = %q, want 2 (one token at 0.5 per second)", got)
	}
	if !strings.Contains(string(data), "from this address") {
		t.Errorf("error body %s does not name the source's limit", data)
	}

	// Another source still gets tokens from the same handler.
	handler := issuer.Handler(backend, opts)
	for _, source := range []string{"192.0.2.1:40000", "[2001:db8::1]:40000"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/v1/attest", bytes.NewReader(body))
		req.RemoteAddr = source
		handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Errorf("request from %s: status %d: %s", source, rec.Code, rec.Body)
		}
	}
}

func TestAttestGlobalLimitAcrossSources(t *testing.T) {
	ev, backend := simulatedTD(t)
	issuer, _, _ := serveIssuer(t, backend, tokenissuer.HandlerOptions{})
	opts := tokenissuer.HandlerOptions{AllowSimulated: true, Logger: quietLog, Rate: 0.5, Burst: 3, BurstPerSource: 2}
	handler := issuer.Handler(backend, opts)
	body := attestBody(t, ev)

	post := func(source string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/v1/attest", bytes.NewReader(body))
		req.RemoteAddr = source
		handler.ServeHTTP(rec, req)
		return rec
	}
	for i, source := range []string{"192.0.2.1:1", "192.0.2.1:2", "192.0.2.2:1"} {
		if rec := post(source); rec.Code != http.StatusOK {
			t.Fatalf("request %d from %s: status %d: %s", i, source, rec.Code, rec.Body)
		}
	}
	rec := post("192.0.2.3:1")
	if rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), `"too many attest requests; retry later"`) {
		t.Errorf("request beyond the global burst: status %d: %s", rec.Code, rec.Body)
	}
}

func TestOpenIDConfigurationDocument(t *testing.T) {
	_, server, _ := serveIssuer(t, nil, tokenissuer.HandlerOptions{})
	resp, err := http.Get(server.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Issuer  string   `json:"issuer"`
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.Issuer != server.URL || doc.JWKSURI != server.URL+"/v1/jwks" || len(doc.Algs) != 1 || doc.Algs[0] != "ES256" {
		t.Errorf("document = %+v", doc)
	}
}

func TestAttestMethodNotAllowed(t *testing.T) {
	_, server, _ := serveIssuer(t, nil, tokenissuer.HandlerOptions{})
	resp, err := http.Get(server.URL + "/v1/attest")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /v1/attest: status %d, want 405", resp.StatusCode)
	}
}

func TestAttestEvidenceShapeMessages(t *testing.T) {
	_, backend := simulatedTD(t)
	opts := tokenissuer.HandlerOptions{AllowSimulated: true, Logger: quietLog, BurstPerSource: 100}
	_, server, _ := serveIssuer(t, backend, opts)
	for body, want := range map[string]string{
		`{}`:                                `missing field "evidence"`,
		`{"evidence":{"kind":"tdx-quote"}}`: `missing field "evidence.quote"`,
		`{"evidence":{"kind":"x","quote":"AQ=="}}`: `invalid evidence.kind "x", expected "tdx-quote" or "azure-tdx"`,
	} {
		_, got := postAttest(t, server.URL, []byte(body))
		var e wire.Error
		if err := json.Unmarshal(got, &e); err != nil || e.Error != want {
			t.Errorf("body %s: error %s, want message %q", body, got, want)
		}
	}
}
