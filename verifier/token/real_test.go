package token_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/token"
)

// The real MAA token, recorded by the Azure SDK for Python, and the /certs
// key that signed it.
const (
	realTokenFile  = "maa-azure-sdk-python/sharedwus_sgx_token_2022-10-07.jwt"
	realCertsFile  = "maa-azure-sdk-python/sharedwus_certs_2022-10-07_signing_key_only.json"
	realIssuer     = "https://sharedwus.wus.attest.azure.net"
	realKid        = "XxRc2vLh1E5FrsNawnRH3PzuFgqg3q7NvCdnjoJHBGE="
	realJKU        = "https://sharedwus.wus.attest.azure.net/certs"
	realIssuedUnix = 1665149033
)

// recordingTransport records every URL requested through it and refuses any
// host but loopback, so a test notices if a header URL were followed.
type recordingTransport struct {
	mu   sync.Mutex
	urls []string
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.urls = append(rt.urls, r.URL.String())
	rt.mu.Unlock()
	if r.URL.Hostname() != "127.0.0.1" {
		return nil, &urlError{r.URL.String()}
	}
	return http.DefaultTransport.RoundTrip(r)
}

type urlError struct{ url string }

func (e *urlError) Error() string { return "test transport: refused non-loopback URL " + e.url }

func realVerifier(t testing.TB, at time.Time) (*token.Verifier, *keySetServer, *recordingTransport) {
	t.Helper()
	server := newKeySetServer(t, readTestdata(t, realCertsFile))
	transport := &recordingTransport{}
	v := &token.Verifier{
		Issuers: []token.IssuerConfig{{
			Issuer:       realIssuer,
			JWKSURL:      server.URL + "/certs",
			Kind:         token.KindMAA,
			HostPatterns: []string{"*.example.com"},
		}},
		HTTPClient: &http.Client{Transport: transport},
		Now:        func() time.Time { return at },
	}
	return v, server, transport
}

func realToken(t testing.TB) string {
	return strings.TrimSpace(string(readTestdata(t, realTokenFile)))
}

func TestRealMAATokenVerifies(t *testing.T) {
	at := time.Date(2022, 10, 7, 13, 25, 0, 0, time.UTC)
	v, server, transport := realVerifier(t, at)

	claims, err := v.Verify(context.Background(), realToken(t), "host.example.com")
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if claims.Verifier != verifier.VerifierMAA {
		t.Errorf("Verifier = %q, want %q", claims.Verifier, verifier.VerifierMAA)
	}
	if claims.Issuer != realIssuer {
		t.Errorf("Issuer = %q, want %q", claims.Issuer, realIssuer)
	}
	if want := time.Unix(realIssuedUnix, 0).UTC(); !claims.IssuedAt.Equal(want) {
		t.Errorf("IssuedAt = %s, want %s", claims.IssuedAt, want)
	}
	if claims.AttestationType != "sgx" {
		t.Errorf("AttestationType = %q, want sgx", claims.AttestationType)
	}
	if claims.PolicyHash != "bROrN897ZfWmWY2V0FLUlu3uwk5xatGnKYHn3zBbSlw" {
		t.Errorf("PolicyHash = %q", claims.PolicyHash)
	}
	if claims.TEE != "" || claims.Platform != "" || claims.MRTD != nil {
		t.Errorf("an SGX token got TDX claims: TEE %q, Platform %q, MRTD %x", claims.TEE, claims.Platform, claims.MRTD)
	}
	if !claims.VerifiedAt.Equal(at) {
		t.Errorf("VerifiedAt = %s, want %s", claims.VerifiedAt, at)
	}
	if got := server.requests.Load(); got != 1 {
		t.Errorf("key set requests = %d, want 1", got)
	}
	if want := server.URL + "/certs"; len(transport.urls) != 1 || transport.urls[0] != want {
		t.Errorf("requested URLs = %q, want only %q", transport.urls, want)
	}
}

func TestRealMAATokenCarriesJKU(t *testing.T) {
	segment := strings.Split(realToken(t), ".")[0]
	data, err := base64.RawURLEncoding.DecodeString(segment)
	if err != nil {
		t.Fatal(err)
	}
	var header map[string]string
	if err := json.Unmarshal(data, &header); err != nil {
		t.Fatal(err)
	}
	if header["jku"] != realJKU {
		t.Errorf("jku = %q, want %q", header["jku"], realJKU)
	}
	if header["kid"] != realKid {
		t.Errorf("kid = %q, want %q", header["kid"], realKid)
	}
	// TestRealMAATokenVerifies shows that this token verifies while only the
	// pinned loopback key-set URL is requested.
}

func TestRealMAATokenExpired(t *testing.T) {
	v, _, _ := realVerifier(t, time.Date(2022, 10, 8, 0, 0, 0, 0, time.UTC))
	_, err := v.Verify(context.Background(), realToken(t), "host.example.com")
	wantRejected(t, err, token.CheckExpired)
}

func TestRealMAATokenExpiryEdge(t *testing.T) {
	// exp is 1665177833; golang-jwt accepts while now < exp + leeway.
	exp := time.Unix(1665177833, 0)
	v, _, _ := realVerifier(t, exp.Add(-time.Second))
	v.Leeway = -1
	v.MaxAge = 9 * time.Hour
	if _, err := v.Verify(context.Background(), realToken(t), ""); err != nil {
		t.Fatalf("one second before exp: %v", err)
	}

	v, _, _ = realVerifier(t, exp)
	v.Leeway = -1
	v.MaxAge = 9 * time.Hour
	_, err := v.Verify(context.Background(), realToken(t), "")
	wantRejected(t, err, token.CheckExpired)
}

func TestRealMAATokenTooOld(t *testing.T) {
	issued := time.Unix(realIssuedUnix, 0)
	v, _, _ := realVerifier(t, issued.Add(11*time.Minute+time.Second))
	_, err := v.Verify(context.Background(), realToken(t), "")
	wantRejected(t, err, token.CheckAge)
}

func TestRealMAATokenHostScope(t *testing.T) {
	v, server, _ := realVerifier(t, time.Date(2022, 10, 7, 13, 25, 0, 0, time.UTC))
	_, err := v.Verify(context.Background(), realToken(t), "host.example.org")
	wantRejected(t, err, token.CheckHostScope)
	if got := server.requests.Load(); got != 0 {
		t.Errorf("key set requests = %d, want 0 for a host out of scope", got)
	}
}

func TestRealMAATokenFlippedSignature(t *testing.T) {
	v, _, _ := realVerifier(t, time.Date(2022, 10, 7, 13, 25, 0, 0, time.UTC))
	raw := realToken(t)
	// Change one base64url character in the middle of the signature.
	i := strings.LastIndex(raw, ".") + 100
	flipped := raw[:i] + string("AB"[boolIndex(raw[i] == 'A')]) + raw[i+1:]
	_, err := v.Verify(context.Background(), flipped, "")
	wantRejected(t, err, token.CheckSignature)
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}
