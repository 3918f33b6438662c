package maatest_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/maa/maatest"
	"github.com/rassh/rassh/verifier/token"
)

// fakeEvidenceVerifier replaces the local backend. It accepts any quote
// and records the evidence it was given. The end-to-end tests in package maa
// use the real local backend.
type fakeEvidenceVerifier struct {
	got    verifier.Evidence
	claims verifier.Claims
	err    error
}

func (f *fakeEvidenceVerifier) Verify(_ context.Context, ev verifier.Evidence) (*verifier.Claims, error) {
	f.got = ev
	if f.err != nil {
		return nil, f.err
	}
	c := f.claims
	return &c, nil
}

func startEmulator(t *testing.T, ev maatest.EvidenceVerifier) (*maatest.Server, *httptest.Server) {
	t.Helper()
	emu, err := maatest.New(ev)
	if err != nil {
		t.Fatal(err)
	}
	server := httptest.NewServer(emu)
	t.Cleanup(server.Close)
	return emu, server
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestAttestRequestValidation(t *testing.T) {
	fake := &fakeEvidenceVerifier{}
	_, server := startEmulator(t, fake)
	attest := server.URL + "/attest/TdxVm?api-version=2023-04-01-preview"
	quote, runtime := b64("quote"), b64(`{"user-data":"00"}`)
	valid := `{"quote":"` + quote + `","runtimeData":{"data":"` + runtime + `","dataType":"JSON"}}`

	tests := []struct {
		name, url, body string
		status          int
	}{
		{"valid", attest, valid, http.StatusOK},
		{"padded base64url", attest, `{"quote":"` + base64.URLEncoding.EncodeToString([]byte("quote")) + `","runtimeData":{"data":"` + runtime + `","dataType":"JSON"}}`, http.StatusOK},
		{"no api-version", server.URL + "/attest/TdxVm", valid, http.StatusBadRequest},
		{"unknown field", attest, `{"quote":"` + quote + `","nonce":"x","runtimeData":{"data":"` + runtime + `","dataType":"JSON"}}`, http.StatusBadRequest},
		{"unknown runtime field", attest, `{"quote":"` + quote + `","runtimeData":{"data":"` + runtime + `","dataType":"JSON","extra":1}}`, http.StatusBadRequest},
		{"trailing data", attest, valid + `{}`, http.StatusBadRequest},
		{"binary data type", attest, `{"quote":"` + quote + `","runtimeData":{"data":"` + runtime + `","dataType":"Binary"}}`, http.StatusBadRequest},
		{"no runtime data", attest, `{"quote":"` + quote + `"}`, http.StatusBadRequest},
		{"quote not base64url", attest, `{"quote":"a+b/","runtimeData":{"data":"` + runtime + `","dataType":"JSON"}}`, http.StatusBadRequest},
		{"empty quote", attest, `{"quote":"","runtimeData":{"data":"` + runtime + `","dataType":"JSON"}}`, http.StatusBadRequest},
		{"runtime data not an object", attest, `{"quote":"` + quote + `","runtimeData":{"data":"` + b64(`[1]`) + `","dataType":"JSON"}}`, http.StatusBadRequest},
		{"oversized", attest, `{"quote":"` + strings.Repeat("A", 200<<10) + `"}`, http.StatusBadRequest},
		{"not JSON", attest, `quote=1`, http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, tc.url, tc.body)
			if status != tc.status {
				t.Fatalf("status = %d (%s), want %d", status, body, tc.status)
			}
			if status != http.StatusOK && !strings.Contains(body, `"code":"InvalidParameter"`) {
				t.Errorf("error body %s lacks the Azure error shape", body)
			}
		})
	}
	if string(fake.got.Quote) != "quote" || string(fake.got.RuntimeData) != `{"user-data":"00"}` || fake.got.Kind != verifier.EvidenceAzureTDX {
		t.Errorf("evidence passed on = %+v", fake.got)
	}
}

func TestAttestVerifierErrors(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
	}{
		{"rejected", verifier.Reject("quote signature", "bad"), http.StatusBadRequest},
		{"policy", &verifier.PolicyError{Rule: "debug", Value: "true"}, http.StatusBadRequest},
		{"undecided", &verifier.UndecidedError{Op: "collateral"}, http.StatusServiceUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, server := startEmulator(t, &fakeEvidenceVerifier{err: tc.err})
			status, body := post(t, server.URL+"/attest/TdxVm?api-version=1",
				`{"quote":"`+b64("q")+`","runtimeData":{"data":"`+b64("{}")+`","dataType":"JSON"}}`)
			if status != tc.status {
				t.Fatalf("status = %d (%s), want %d", status, body, tc.status)
			}
		})
	}
}

func TestCertsShape(t *testing.T) {
	emu, server := startEmulator(t, &fakeEvidenceVerifier{})
	resp, err := http.Get(server.URL + "/certs")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("keys = %d, want 1", len(set.Keys))
	}
	key := set.Keys[0]
	for _, absent := range []string{"n", "e", "alg", "use"} {
		if _, ok := key[absent]; ok {
			t.Errorf("key has %q; MAA keys carry only kty, kid and x5c", absent)
		}
	}
	kid, _ := key["kid"].(string)
	if kid != emu.SigningKey().Kid || !strings.Contains(kid, "+") || !strings.Contains(kid, "/") || !strings.HasSuffix(kid, "=") {
		t.Errorf("kid = %q, want the signing key's kid with + / =", kid)
	}

	x5c, _ := key["x5c"].([]any)
	der, err := base64.StdEncoding.DecodeString(x5c[0].(string))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		t.Errorf("certificate is not self-signed: %v", err)
	}
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || pub.N.BitLen() != 2048 {
		t.Errorf("certificate key = %T, want RSA-2048", cert.PublicKey)
	}
}

func TestOpenIDConfiguration(t *testing.T) {
	_, server := startEmulator(t, &fakeEvidenceVerifier{})
	resp, err := http.Get(server.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Issuer  string   `json:"issuer"`
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
		Types   []string `json:"response_types_supported"`
		Revoke  string   `json:"revocation_endpoint"`
		Claims  []string `json:"claims_supported"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.Issuer != server.URL || doc.JWKSURI != server.URL+"/certs" || doc.Revoke != server.URL+"/revoke" {
		t.Errorf("issuer %q jwks_uri %q revocation_endpoint %q", doc.Issuer, doc.JWKSURI, doc.Revoke)
	}
	if len(doc.Algs) != 1 || doc.Algs[0] != "RS256" || len(doc.Types) != 2 || len(doc.Claims) == 0 {
		t.Errorf("algs %q response types %q claims %q", doc.Algs, doc.Types, doc.Claims)
	}
}

// TestTokenShape checks the emulator's token against the token verifier,
// with the header MAA sends and the simulated marker.
func TestTokenShape(t *testing.T) {
	fake := &fakeEvidenceVerifier{claims: verifier.Claims{
		TEE: "tdx", MRTD: bytes.Repeat([]byte{7}, 48), TDAttributes: make([]byte, 8),
		ReportData: bytes.Repeat([]byte{9}, 64), Simulated: true, Debug: true,
		TCB: &verifier.TCB{Status: verifier.TCBStatusOutOfDate},
	}}
	_, server := startEmulator(t, fake)
	runtime := `{"vm-configuration":{"secure-boot":true,"vmUniqueId":"vm-1"},"user-data":"AB01"}`
	status, body := post(t, server.URL+"/attest/TdxVm?api-version=2023-04-01-preview",
		`{"quote":"`+b64("q")+`","runtimeData":{"data":"`+b64(runtime)+`","dataType":"JSON"}}`)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	var answer struct{ Token string }
	if err := json.Unmarshal([]byte(body), &answer); err != nil {
		t.Fatal(err)
	}

	header, _ := base64.RawURLEncoding.DecodeString(strings.Split(answer.Token, ".")[0])
	var h map[string]string
	json.Unmarshal(header, &h)
	if h["alg"] != "RS256" || h["typ"] != "JWT" || h["jku"] != server.URL+"/certs" || h["kid"] == "" {
		t.Errorf("header = %v", h)
	}

	v := &token.Verifier{Issuers: []token.IssuerConfig{{Issuer: server.URL, Kind: token.KindMAA}}}
	c, err := v.Verify(context.Background(), answer.Token, "")
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !c.Simulated || !c.Debug || c.ComplianceStatus != "" || c.TCB == nil || c.TCB.Status != verifier.TCBStatusOutOfDate {
		t.Errorf("Simulated %v Debug %v ComplianceStatus %q TCB %+v", c.Simulated, c.Debug, c.ComplianceStatus, c.TCB)
	}
	if c.VMUniqueID != "vm-1" || c.UserData.String() != "ab01" || string(c.RuntimeData) != runtime {
		t.Errorf("VMUniqueID %q UserData %s RuntimeData %s", c.VMUniqueID, c.UserData, c.RuntimeData)
	}
	if c.MRTD.String() != strings.Repeat("07", 48) {
		t.Errorf("MRTD = %s", c.MRTD)
	}
}
