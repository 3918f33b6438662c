package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/api/wire"
	"github.com/rassh/rassh/ca/catest"
	"github.com/rassh/rassh/client"
	"github.com/rassh/rassh/enroll"
	"github.com/rassh/rassh/enroll/rasshd"
	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/binding"
	"github.com/rassh/rassh/verifier/token"
)

// tdProvider gives a simulated TD's quotes to rasshd.CAAttester, the token
// source of a ra-ssh agent.
type tdProvider struct{ td *catest.TD }

func (p tdProvider) Evidence(_ context.Context, v binding.Value) (verifier.Evidence, error) {
	return p.td.Quote(v)
}

// pinnedClient trusts the CA's self-signed TLS certificate by its
// fingerprint, as ra-ssh agents do.
func (c *testCA) pinnedClient() *http.Client {
	c.t.Helper()
	httpClient, err := enroll.NewHTTPClient(enroll.TLSOptions{Fingerprint: c.fingerprint})
	if err != nil {
		c.t.Fatal(err)
	}
	return httpClient
}

func connectBinding() binding.Value {
	return binding.Connect(bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32), []byte("host key blob"))
}

// TestTokenServiceEndToEnd gets a token from a running CA the way a ra-ssh
// agent does (ca.tls_fingerprint), and verifies it the way the rassh client
// does (an issuer with tls_fingerprint): against the CA's /v1/jwks over TLS
// pinned to the self-signed certificate.
func TestTokenServiceEndToEnd(t *testing.T) {
	c := initTestCA(t, "--token-service-allow-simulated")
	c.start()

	v := connectBinding()
	attester := &rasshd.CAAttester{Provider: tdProvider{catest.NewTD(c.sim, 0x42)}, CAURL: c.url, HTTPClient: c.pinnedClient()}
	raw, err := attester.Attest(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}

	issuers := []client.IssuerConfig{{
		IssuerConfig:   token.IssuerConfig{Issuer: c.url, JWKSURL: c.url + "/v1/jwks", Kind: token.KindRassh, HostPatterns: []string{"*.example.com"}},
		TLSFingerprint: c.fingerprint,
	}}
	keySets, err := client.KeySetHTTPClient(issuers)
	if err != nil {
		t.Fatal(err)
	}
	tokens := &token.Verifier{Issuers: client.TokenIssuers(issuers), HTTPClient: keySets}
	claims, err := tokens.Verify(context.Background(), raw, "h1.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(claims.UserData, v[:]) {
		t.Errorf("token user data %x, expected the binding value %x", []byte(claims.UserData), v[:])
	}
	if claims.Issuer != c.url {
		t.Errorf("token issuer %q, expected %q", claims.Issuer, c.url)
	}
	if !claims.Simulated {
		t.Error("token claims do not mark the simulated TD as simulated")
	}
	if claims.Verifier != verifier.VerifierRassh {
		t.Errorf("token claims verifier %q, expected %q", claims.Verifier, verifier.VerifierRassh)
	}

	// The start log names the issuer, its key set and the kid that signed.
	kid := tokenKid(t, raw)
	wantLog := `"msg":"token service enabled","issuer":"` + c.url + `","jwks_url":"` + c.url + `/v1/jwks","kid":"` + kid + `"`
	if !strings.Contains(c.log.String(), wantLog) {
		t.Errorf("log lacks %s:\n%s", wantLog, c.log.String())
	}
	if !strings.Contains(c.log.String(), `"msg":"token service issues tokens for simulated TDs: development only"`) {
		t.Errorf("log lacks the simulated-TD warning:\n%s", c.log.String())
	}
}

func tokenKid(t *testing.T, raw string) string {
	t.Helper()
	parsed, _, err := jwt.NewParser().ParseUnverified(raw, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := parsed.Header["kid"].(string)
	return kid
}

func TestTokenServiceOpenIDConfiguration(t *testing.T) {
	c := initTestCA(t)
	c.start()
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	getJSON(t, c.pinnedClient(), c.url+"/.well-known/openid-configuration", &doc)
	if doc.Issuer != c.url || doc.JWKSURI != c.url+"/v1/jwks" {
		t.Errorf("openid-configuration issuer %q, jwks_uri %q; expected %q and %q", doc.Issuer, doc.JWKSURI, c.url, c.url+"/v1/jwks")
	}
}

// TestTokenServiceRejectsSimulated checks that a CA initialized without
// --token-service-allow-simulated issues no token for a simulated TD, even
// though its enrollment policy accepts simulated TDs.
func TestTokenServiceRejectsSimulated(t *testing.T) {
	c := initTestCA(t)
	c.start()
	ev, err := catest.NewTD(c.sim, 0x42).Quote(connectBinding())
	if err != nil {
		t.Fatal(err)
	}

	status, body := postAttest(t, c.pinnedClient(), c.url, ev)
	if status != http.StatusForbidden {
		t.Errorf("status %d, expected 403", status)
	}
	if want := `{"error":"evidence from a simulated TD is not accepted","code":"simulated_evidence"}` + "\n"; body != want {
		t.Errorf("body %q, expected %q", body, want)
	}

	attester := &rasshd.CAAttester{Provider: tdProvider{catest.NewTD(c.sim, 0x42)}, CAURL: c.url, HTTPClient: c.pinnedClient()}
	_, err = attester.Attest(context.Background(), connectBinding())
	want := "attest: " + c.url + "/v1/attest returned 403 (simulated_evidence): evidence from a simulated TD is not accepted"
	if err == nil || err.Error() != want {
		t.Errorf("attester error %v, expected %s", err, want)
	}
}

func TestTokenServiceRateLimit(t *testing.T) {
	c := initTestCA(t, "--token-service-allow-simulated")
	editConfig(t, c.dir, "rate: 2 ", "rate: 0.001 ", "burst: 10 ", "burst: 1 ")
	c.start()
	ev, err := catest.NewTD(c.sim, 0x42).Quote(connectBinding())
	if err != nil {
		t.Fatal(err)
	}
	httpClient := c.pinnedClient()

	if status, body := postAttest(t, httpClient, c.url, ev); status != http.StatusOK {
		t.Fatalf("first request: status %d, body %s", status, body)
	}
	resp := doAttest(t, httpClient, c.url, ev)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("second request: status %d, expected 429", resp.StatusCode)
	}
	if want := `{"error":"too many attest requests; retry later","code":"rate_limited"}` + "\n"; string(body) != want {
		t.Errorf("second request: body %q, expected %q", body, want)
	}
	// One token per 1000 s: the next one is due in 1000 s, rounded up.
	if got := resp.Header.Get("Retry-After"); got != "1000" {
		t.Errorf("Retry-After %q, expected 1000", got)
	}
}

// TestTokenServiceKeyIsNotCAKey checks that the key served at /v1/jwks is
// the token service's own key and not the SSH CA key, with a CA key of the
// same type (ECDSA P-256) so that the comparison means something.
func TestTokenServiceKeyIsNotCAKey(t *testing.T) {
	c := initTestCA(t, "--key-type", "ecdsa-p256")
	c.start()
	var set struct {
		Keys []struct{ Kty, Crv, Kid, Alg, X, Y string }
	}
	getJSON(t, c.pinnedClient(), c.url+"/v1/jwks", &set)
	if len(set.Keys) != 1 || set.Keys[0].Kty != "EC" || set.Keys[0].Crv != "P-256" || set.Keys[0].Alg != "ES256" {
		t.Fatalf("key set %+v, expected one EC P-256 ES256 key", set)
	}
	served := append([]byte{4}, append(mustBase64URL(t, set.Keys[0].X), mustBase64URL(t, set.Keys[0].Y)...)...)

	tokenKey := readPKCS8(t, filepath.Join(c.dir, tokenServiceKeyFile))
	tokenPub, _ := tokenKey.PublicKey.Bytes()
	if !bytes.Equal(served, tokenPub) {
		t.Errorf("/v1/jwks serves %x, expected the key in %s, %x", served, tokenServiceKeyFile, tokenPub)
	}

	caLine, err := os.ReadFile(filepath.Join(c.dir, caKeyFile+".pub"))
	if err != nil {
		t.Fatal(err)
	}
	caKey, _, _, _, err := ssh.ParseAuthorizedKey(caLine)
	if err != nil {
		t.Fatal(err)
	}
	caPub, _ := caKey.(ssh.CryptoPublicKey).CryptoPublicKey().(*ecdsa.PublicKey).Bytes()
	if bytes.Equal(served, caPub) {
		t.Error("/v1/jwks serves the SSH CA key")
	}

	for _, name := range []string{tokenServiceKeyFile, caKeyFile} {
		info, err := os.Stat(filepath.Join(c.dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %04o, expected 0600", name, info.Mode().Perm())
		}
	}
}

func TestTokenServiceDisabled(t *testing.T) {
	c := initTestCA(t, "--token-service=false")
	c.start()
	resp, err := c.pinnedClient().Get(c.url + "/v1/jwks")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var e wire.Error
	json.Unmarshal(body, &e)
	if resp.StatusCode != http.StatusNotFound || e != (wire.Error{Error: "no such route", Code: "not_found"}) {
		t.Errorf("GET /v1/jwks: %d %q, expected 404 not_found", resp.StatusCode, body)
	}
	if strings.Contains(c.log.String(), "token service enabled") {
		t.Errorf("log says the token service is enabled:\n%s", c.log.String())
	}
}

func TestServeRejectsReadableTokenKey(t *testing.T) {
	c := initTestCA(t)
	keyPath := filepath.Join(c.dir, tokenServiceKeyFile)
	if err := os.Chmod(keyPath, 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCA(t, "serve", "--config", filepath.Join(c.dir, configFile))
	want := `"msg":"rassh-ca stopped with an error","error":"token issuer: key file ` + keyPath + ` has mode 0644; run chmod 600 ` + keyPath + `"`
	if r.code != exitRejected || !strings.Contains(r.stderr, want) {
		t.Errorf("serve: exit %d, stderr %s; expected exit %d and %s", r.code, r.stderr, exitRejected, want)
	}
}

// editConfig replaces text in the CA's configuration file, in pairs of old
// and new strings that must each occur once.
func editConfig(t *testing.T, dir string, pairs ...string) {
	t.Helper()
	path := filepath.Join(dir, configFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i < len(pairs); i += 2 {
		if strings.Count(s, pairs[i]) != 1 {
			t.Fatalf("config has %d occurrences of %q, expected 1", strings.Count(s, pairs[i]), pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func doAttest(t *testing.T, httpClient *http.Client, url string, ev verifier.Evidence) *http.Response {
	t.Helper()
	b, _ := json.Marshal(wire.AttestRequest{Evidence: ev})
	resp, err := httpClient.Post(url+"/v1/attest", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func postAttest(t *testing.T, httpClient *http.Client, url string, ev verifier.Evidence) (int, string) {
	t.Helper()
	resp := doAttest(t, httpClient, url, ev)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func getJSON(t *testing.T, httpClient *http.Client, url string, out any) {
	t.Helper()
	resp, err := httpClient.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func mustBase64URL(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readPKCS8(t *testing.T, path string) *ecdsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s contains no PEM block", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("%s contains a %T, expected an ECDSA key", path, key)
	}
	return ecKey
}
