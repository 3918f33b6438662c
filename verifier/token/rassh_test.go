package token_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/token"
)

const rasshIssuerURL = "https://ca.test.invalid"

func ecJWK(t testing.TB, kid string, key *ecdsa.PrivateKey) map[string]any {
	t.Helper()
	point, err := key.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{
		"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
		"x": base64.RawURLEncoding.EncodeToString(point[1:33]),
		"y": base64.RawURLEncoding.EncodeToString(point[33:]),
	}
}

func jwks(t testing.TB, keys ...map[string]any) []byte {
	t.Helper()
	data, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func rasshClaims(inner *verifier.Claims) jwt.MapClaims {
	return jwt.MapClaims{
		"iss":   rasshIssuerURL,
		"iat":   testNow.Unix(),
		"nbf":   testNow.Unix(),
		"exp":   testNow.Add(5 * time.Minute).Unix(),
		"jti":   "0123",
		"rassh": inner,
	}
}

func rasshVerifier(server *keySetServer) *token.Verifier {
	return &token.Verifier{
		Issuers: []token.IssuerConfig{{
			Issuer:       rasshIssuerURL,
			JWKSURL:      server.URL + "/v1/jwks",
			Kind:         token.KindRassh,
			HostPatterns: []string{"*"},
		}},
		Now: func() time.Time { return testNow },
	}
}

func signES256(t testing.TB, key *ecdsa.PrivateKey, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	tok.Header["kid"] = kid
	raw, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestRasshTokenMapped(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	server := newKeySetServer(t, jwks(t, ecJWK(t, "ca-key-1", key)))
	inner := &verifier.Claims{
		TEE: "tdx", Platform: verifier.PlatformTDX, QuoteVersion: 4,
		MRTD:       bytes.Repeat([]byte{0xab}, 48),
		UserData:   bytes.Repeat([]byte{0x01}, 64),
		ReportData: bytes.Repeat([]byte{0x01}, 64),
		Verifier:   verifier.VerifierLocal,
		Simulated:  true,
		TCB:        &verifier.TCB{Status: verifier.TCBStatusUpToDate, CRLChecked: true},
	}

	c, err := rasshVerifier(server).Verify(context.Background(), signES256(t, key, "ca-key-1", rasshClaims(inner)), "h.example.com")
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.Verifier != verifier.VerifierRassh || c.Issuer != rasshIssuerURL || !c.IssuedAt.Equal(testNow) {
		t.Errorf("Verifier %q Issuer %q IssuedAt %s", c.Verifier, c.Issuer, c.IssuedAt)
	}
	if !bytes.Equal(c.MRTD, inner.MRTD) || !bytes.Equal(c.UserData, inner.UserData) || c.QuoteVersion != 4 {
		t.Errorf("MRTD %x UserData %x QuoteVersion %d", c.MRTD, c.UserData, c.QuoteVersion)
	}
	if !c.Simulated {
		t.Error("Simulated = false, want true")
	}
	if c.TCB == nil || c.TCB.Status != verifier.TCBStatusUpToDate {
		t.Errorf("TCB = %+v", c.TCB)
	}
}

func TestRasshTokenWithoutClaims(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	server := newKeySetServer(t, jwks(t, ecJWK(t, "k", key)))
	claims := rasshClaims(nil)
	delete(claims, "rassh")
	_, err = rasshVerifier(server).Verify(context.Background(), signES256(t, key, "k", claims), "")
	wantRejected(t, err, token.CheckClaims)

	claims["rassh"] = "not an object"
	_, err = rasshVerifier(server).Verify(context.Background(), signES256(t, key, "k", claims), "")
	wantRejected(t, err, token.CheckClaims)
}

func TestRasshEdDSAToken(t *testing.T) {
	public, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	server := newKeySetServer(t, jwks(t, map[string]any{
		"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": base64.RawURLEncoding.EncodeToString(public),
	}))
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, rasshClaims(&verifier.Claims{TEE: "tdx"}))
	tok.Header["kid"] = "ed"
	raw, err := tok.SignedString(private)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rasshVerifier(server).Verify(context.Background(), raw, ""); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

// TestAlgKeyConfusion signs ES256 with a key listed for another alg: the
// JWK's own alg and key type must fit the token's alg.
func TestAlgKeyConfusion(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	wrongAlg := ecJWK(t, "k", key)
	wrongAlg["alg"] = "ES384"
	point, _ := p384.PublicKey.Bytes()
	server := newKeySetServer(t, jwks(t, wrongAlg, map[string]any{
		"kty": "EC", "crv": "P-384", "kid": "p384",
		"x": base64.RawURLEncoding.EncodeToString(point[1:49]),
		"y": base64.RawURLEncoding.EncodeToString(point[49:]),
	}))

	_, err = rasshVerifier(server).Verify(context.Background(), signES256(t, key, "k", rasshClaims(&verifier.Claims{})), "")
	wantRejected(t, err, token.CheckSignature)
	_, err = rasshVerifier(server).Verify(context.Background(), signES256(t, key, "p384", rasshClaims(&verifier.Claims{})), "")
	wantRejected(t, err, token.CheckSignature)
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name   string
		config token.IssuerConfig
	}{
		{"maa with ES256", token.IssuerConfig{Issuer: "https://maa.test", Kind: token.KindMAA, Algorithms: []string{"ES256"}}},
		{"rassh with HS256", token.IssuerConfig{Issuer: "https://ca.test", Kind: token.KindRassh, Algorithms: []string{"HS256"}}},
		{"rassh with none", token.IssuerConfig{Issuer: "https://ca.test", Kind: token.KindRassh, Algorithms: []string{"none"}}},
		{"unknown kind", token.IssuerConfig{Issuer: "https://ca.test", Kind: "oidc"}},
		{"relative issuer", token.IssuerConfig{Issuer: "ca.test", Kind: token.KindRassh}},
		{"ftp key set", token.IssuerConfig{Issuer: "https://ca.test", JWKSURL: "ftp://ca.test/jwks", Kind: token.KindRassh}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := &token.Verifier{Issuers: []token.IssuerConfig{tc.config}}
			if err := v.Validate(); err == nil {
				t.Fatal("Validate: no error")
			}
			if _, err := v.Verify(context.Background(), "a.b.c", ""); err == nil || verifier.IsRejected(err) {
				t.Fatalf("Verify: error %v, want the configuration error", err)
			}
		})
	}

	dup := &token.Verifier{Issuers: []token.IssuerConfig{
		{Issuer: "https://ca.test", Kind: token.KindRassh},
		{Issuer: "https://ca.test", Kind: token.KindMAA},
	}}
	if err := dup.Validate(); err == nil {
		t.Fatal("duplicate issuer: no error")
	}
}

func TestKeyCacheDir(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	server := newKeySetServer(t, jwks(t, ecJWK(t, "k", key)))
	dir := filepath.Join(t.TempDir(), "cache")
	raw := signES256(t, key, "k", rasshClaims(&verifier.Claims{}))

	first := rasshVerifier(server)
	first.KeyCacheDir = dir
	if _, err := first.Verify(context.Background(), raw, ""); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("cache dir: %v, mode %v, want 0700", err, info.Mode().Perm())
	}
	files, err := filepath.Glob(filepath.Join(dir, "jwks-*.json"))
	if err != nil || len(files) != 1 {
		t.Fatalf("cache files = %q (%v), want one", files, err)
	}
	if info, err := os.Stat(files[0]); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("cache file: %v, mode %v, want 0600", err, info.Mode().Perm())
	}

	// A second process (a new Verifier) uses the cache and fetches nothing.
	second := rasshVerifier(server)
	second.KeyCacheDir = dir
	if _, err := second.Verify(context.Background(), raw, ""); err != nil {
		t.Fatal(err)
	}
	if got := server.requests.Load(); got != 1 {
		t.Errorf("key set requests = %d, want 1", got)
	}

	// A cache file that others can read is ignored.
	if err := os.Chmod(files[0], 0o644); err != nil {
		t.Fatal(err)
	}
	third := rasshVerifier(server)
	third.KeyCacheDir = dir
	if _, err := third.Verify(context.Background(), raw, ""); err != nil {
		t.Fatal(err)
	}
	if got := server.requests.Load(); got != 2 {
		t.Errorf("key set requests after a 0644 cache file = %d, want 2", got)
	}

	// A cache older than the key-set lifetime is fetched again.
	fourth := rasshVerifier(server)
	fourth.KeyCacheDir = dir
	fourth.Now = func() time.Time { return testNow.Add(25 * time.Hour) }
	claims := rasshClaims(&verifier.Claims{})
	claims["iat"], claims["nbf"], claims["exp"] = testNow.Add(25*time.Hour).Unix(), testNow.Add(25*time.Hour).Unix(), testNow.Add(26*time.Hour).Unix()
	if _, err := fourth.Verify(context.Background(), signES256(t, key, "k", claims), ""); err != nil {
		t.Fatal(err)
	}
	if got := server.requests.Load(); got != 3 {
		t.Errorf("key set requests after the lifetime = %d, want 3", got)
	}
}
