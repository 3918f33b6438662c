package sshdtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/binding"
	"github.com/rassh/rassh/verifier/tdx"
	"github.com/rassh/rassh/verifier/tdx/tdxsim"
	"github.com/rassh/rassh/verifier/token"
)

// Issuer is a token service for tests: it makes a simulated TDX quote over
// the binding value, verifies it with the real local quote verifier, and
// signs a token of kind "rassh" (the claims under "rassh") with its own ES256
// key, whose key set it serves on loopback at /v1/jwks.
//
// NOTE: it stands in for the CA's token service in these tests; it shares
// the token layout, not the code.
type Issuer struct {
	URL string
	// IssuedAt shifts the iat of new tokens; nil means time.Now.
	IssuedAt func() time.Time
	// TD is the simulated TD's configuration.
	TD tdxsim.TDConfig
	// ClaimedIssuer is the iss of new tokens; empty means URL. Tests set it
	// to forge tokens in another issuer's name.
	ClaimedIssuer string
	// Header adds or replaces header fields of new tokens.
	Header map[string]any

	mu     sync.Mutex
	key    *ecdsa.PrivateKey
	kid    string
	sim    *tdxsim.Authority
	quotes *tdx.Verifier
	calls  int
}

// NewIssuer starts an issuer and its key-set server.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sim, err := tdxsim.NewAuthority(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	iss := &Issuer{key: key, kid: "test-es256", sim: sim, quotes: &tdx.Verifier{SimulationRoots: sim.RootPool()}}
	srv := httptest.NewServer(http.HandlerFunc(iss.serveJWKS))
	t.Cleanup(srv.Close)
	iss.URL = srv.URL
	return iss
}

// JWK returns the issuer's public key as a JWK.
func (i *Issuer) JWK() map[string]string {
	raw, err := i.key.PublicKey.Bytes() // 0x04, then X and Y, 32 bytes each
	if err != nil {
		panic(err) // a generated P-256 key always encodes
	}
	x, y := raw[1:33], raw[33:65]
	return map[string]string{"kty": "EC", "crv": "P-256", "kid": i.kid, "use": "sig", "alg": "ES256",
		"x": base64.RawURLEncoding.EncodeToString(x), "y": base64.RawURLEncoding.EncodeToString(y)}
}

// Config returns the issuer as a client trusts it, for hostPatterns.
func (i *Issuer) Config(hostPatterns ...string) token.IssuerConfig {
	return token.IssuerConfig{Issuer: i.URL, JWKSURL: i.URL + "/v1/jwks", Kind: token.KindRassh,
		Algorithms: []string{"ES256"}, HostPatterns: hostPatterns}
}

// Calls returns how many tokens Attest has issued.
func (i *Issuer) Calls() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.calls
}

// Attest implements rasshd.Attester.
func (i *Issuer) Attest(ctx context.Context, v binding.Value) (string, error) {
	return i.AttestWithHeader(ctx, v, i.Header)
}

// AttestWithHeader is Attest with header fields added to the token's header.
func (i *Issuer) AttestWithHeader(ctx context.Context, v binding.Value, header map[string]any) (string, error) {
	quote, err := i.sim.Quote(v, i.TD)
	if err != nil {
		return "", err
	}
	claims, err := i.quotes.VerifyQuote(ctx, quote)
	if err != nil {
		return "", err
	}
	i.mu.Lock()
	i.calls++
	i.mu.Unlock()
	return i.Sign(claims, header)
}

// Sign issues a token over claims; header adds or replaces header fields.
func (i *Issuer) Sign(c *verifier.Claims, header map[string]any) (string, error) {
	iat := time.Now()
	if i.IssuedAt != nil {
		iat = i.IssuedAt()
	}
	iss := i.URL
	if i.ClaimedIssuer != "" {
		iss = i.ClaimedIssuer
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"iss": iss, "iat": iat.Unix(), "nbf": iat.Unix(), "exp": iat.Add(time.Hour).Unix(),
		"jti": base64.RawURLEncoding.EncodeToString(randomBytes(16)), "rassh": c,
	})
	tok.Header["kid"] = i.kid
	for k, v := range header {
		tok.Header[k] = v
	}
	return tok.SignedString(i.key)
}

func (i *Issuer) serveJWKS(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/jwks" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{i.JWK()}})
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
