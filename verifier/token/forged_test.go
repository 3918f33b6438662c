package token_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/maa/maatest"
	"github.com/rassh/rassh/verifier/token"
)

func encodeSegment(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(data)
}

func TestLocalIssuerTokenVerifies(t *testing.T) {
	li := newLocalIssuer(t)
	if !strings.ContainsAny(li.key.Kid, "+") || !strings.Contains(li.key.Kid, "/") || !strings.HasSuffix(li.key.Kid, "=") {
		t.Fatalf("kid %q lacks one of + / =", li.key.Kid)
	}
	claims, err := li.verifier().Verify(context.Background(), li.sign(t, li.claims(), nil), "a.example.com")
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if claims.Issuer != li.url || !claims.IssuedAt.Equal(testNow) {
		t.Errorf("Issuer %q IssuedAt %s, want %q %s", claims.Issuer, claims.IssuedAt, li.url, testNow)
	}
}

func TestForgedAlgNone(t *testing.T) {
	li := newLocalIssuer(t)
	header := map[string]any{"alg": "none", "typ": "JWT", "kid": li.key.Kid}
	raw := encodeSegment(t, header) + "." + encodeSegment(t, li.claims()) + "."
	_, err := li.verifier().Verify(context.Background(), raw, "a.example.com")
	wantRejected(t, err, token.CheckAlg)

	// The library's own "none" method with its unsafe key gives the same.
	none := jwt.NewWithClaims(jwt.SigningMethodNone, li.claims())
	none.Header["kid"] = li.key.Kid
	raw, err = none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	_, err = li.verifier().Verify(context.Background(), raw, "a.example.com")
	wantRejected(t, err, token.CheckAlg)
	if got := li.server.requests.Load(); got != 0 {
		t.Errorf("key set requests = %d, want 0", got)
	}
}

func TestForgedHMACWithPublicKey(t *testing.T) {
	li := newLocalIssuer(t)
	spki, err := x509.MarshalPKIXPublicKey(&li.key.Private.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string][]byte{
		"pem":  pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}),
		"der":  spki,
		"cert": li.key.Certificate.Raw,
	}
	for name, secret := range secrets {
		for _, method := range []jwt.SigningMethod{jwt.SigningMethodHS256, jwt.SigningMethodHS512} {
			t.Run(name+"/"+method.Alg(), func(t *testing.T) {
				forged := jwt.NewWithClaims(method, li.claims())
				forged.Header["kid"] = li.key.Kid
				raw, err := forged.SignedString(secret)
				if err != nil {
					t.Fatal(err)
				}
				_, err = li.verifier().Verify(context.Background(), raw, "a.example.com")
				wantRejected(t, err, token.CheckAlg)
			})
		}
	}
}

// TestForgedHeaderKeys signs with an attacker's key and points every key
// header at it. The headers are never followed: the attacker's key-set
// server gets no request, and the token fails against the pinned key.
func TestForgedHeaderKeys(t *testing.T) {
	li := newLocalIssuer(t)
	attacker, err := maatest.NewKey(li.url)
	if err != nil {
		t.Fatal(err)
	}
	attackerServer := newKeySetServer(t, maatest.KeySet(attacker))
	attackerJWK := attacker.JWK()
	attackerX5c := attackerJWK["x5c"]

	headers := map[string]map[string]any{
		"jku": {"jku": attackerServer.URL + "/certs"},
		"x5u": {"x5u": attackerServer.URL + "/cert.pem"},
		"jwk": {"jwk": attackerJWK},
		"x5c": {"x5c": attackerX5c},
		"all": {"jku": attackerServer.URL + "/certs", "x5u": attackerServer.URL + "/cert.pem", "jwk": attackerJWK, "x5c": attackerX5c},
	}
	for name, header := range headers {
		t.Run(name+"/pinned kid", func(t *testing.T) {
			raw, err := attacker.Sign(li.claims(), "", withKid(header, li.key.Kid))
			if err != nil {
				t.Fatal(err)
			}
			_, err = li.verifier().Verify(context.Background(), raw, "a.example.com")
			wantRejected(t, err, token.CheckSignature)
		})
		t.Run(name+"/attacker kid", func(t *testing.T) {
			raw, err := attacker.Sign(li.claims(), "", header)
			if err != nil {
				t.Fatal(err)
			}
			_, err = li.verifier().Verify(context.Background(), raw, "a.example.com")
			wantRejected(t, err, token.CheckKid)
		})
	}
	if got := attackerServer.requests.Load(); got != 0 {
		t.Errorf("attacker key-set requests = %d, want 0", got)
	}
}

func withKid(header map[string]any, kid string) map[string]any {
	out := map[string]any{"kid": kid}
	for k, v := range header {
		out[k] = v
	}
	return out
}

// TestUnknownKidBoundedRefetch counts the key-set requests: an unknown kid
// causes one refetch, and no more within the refetch interval.
func TestUnknownKidBoundedRefetch(t *testing.T) {
	li := newLocalIssuer(t)
	v := li.verifier()
	ctx := context.Background()
	if _, err := v.Verify(ctx, li.sign(t, li.claims(), nil), ""); err != nil {
		t.Fatal(err)
	}
	if got := li.server.requests.Load(); got != 1 {
		t.Fatalf("requests after the first token = %d, want 1", got)
	}

	li.clock.Advance(31 * time.Second)
	unknown := li.sign(t, li.claims(), map[string]any{"kid": "bm90LWEta2V5+/=="})
	_, err := v.Verify(ctx, unknown, "")
	wantRejected(t, err, token.CheckKid)
	if got := li.server.requests.Load(); got != 2 {
		t.Fatalf("requests after an unknown kid = %d, want 2 (one refetch)", got)
	}

	for range 5 {
		li.clock.Advance(5 * time.Second)
		_, err = v.Verify(ctx, unknown, "")
		wantRejected(t, err, token.CheckKid)
	}
	if got := li.server.requests.Load(); got != 2 {
		t.Fatalf("requests after repeated unknown kids within 30 s = %d, want 2", got)
	}

	li.clock.Advance(6 * time.Second)
	_, err = v.Verify(ctx, unknown, "")
	wantRejected(t, err, token.CheckKid)
	if got := li.server.requests.Load(); got != 3 {
		t.Fatalf("requests after the interval = %d, want 3", got)
	}
}

// TestRotatedKeyFoundByRefetch shows the refetch finding a new key.
func TestRotatedKeyFoundByRefetch(t *testing.T) {
	li := newLocalIssuer(t)
	v := li.verifier()
	ctx := context.Background()
	if _, err := v.Verify(ctx, li.sign(t, li.claims(), nil), ""); err != nil {
		t.Fatal(err)
	}
	rotated, err := maatest.NewKey(li.url)
	if err != nil {
		t.Fatal(err)
	}
	li.server.set(http.StatusOK, maatest.KeySet(li.key, rotated))
	li.clock.Advance(time.Minute)
	raw, err := rotated.Sign(li.claims(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, raw, ""); err != nil {
		t.Fatalf("token of the rotated key: %v", err)
	}
}

func TestKeySetUnavailableIsUndecided(t *testing.T) {
	li := newLocalIssuer(t)
	li.server.set(http.StatusInternalServerError, []byte("down"))
	_, err := li.verifier().Verify(context.Background(), li.sign(t, li.claims(), nil), "")
	if !verifier.IsUndecided(err) {
		t.Fatalf("error = %v, want an UndecidedError", err)
	}

	li.server.set(http.StatusOK, []byte(`{"keys":[]}`))
	_, err = li.verifier().Verify(context.Background(), li.sign(t, li.claims(), nil), "")
	if !verifier.IsUndecided(err) {
		t.Fatalf("empty key set: error = %v, want an UndecidedError", err)
	}
}

func TestKeySetRedirectNotFollowed(t *testing.T) {
	li := newLocalIssuer(t)
	target := newKeySetServer(t, maatest.KeySet(li.key))
	redirect := newKeySetServer(t, nil)
	redirect.Config.Handler = http.RedirectHandler(target.URL+"/certs", http.StatusFound)
	config := li.config()
	config.JWKSURL = redirect.URL + "/certs"
	v := &token.Verifier{Issuers: []token.IssuerConfig{config}, Now: li.clock.Now}

	_, err := v.Verify(context.Background(), li.sign(t, li.claims(), nil), "")
	if !verifier.IsUndecided(err) {
		t.Fatalf("error = %v, want an UndecidedError", err)
	}
	if got := target.requests.Load(); got != 0 {
		t.Errorf("redirect target requests = %d, want 0", got)
	}
}

func TestForgedClaims(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(c jwt.MapClaims)
		header map[string]any
		host   string
		check  string
	}{
		{"untrusted iss", func(c jwt.MapClaims) { c["iss"] = "https://evil.test.invalid" }, nil, "", token.CheckIssuer},
		{"iss with trailing slash", func(c jwt.MapClaims) { c["iss"] = localIssuerURL + "/" }, nil, "", token.CheckIssuer},
		{"no iss", func(c jwt.MapClaims) { delete(c, "iss") }, nil, "", token.CheckIssuer},
		{"expired", func(c jwt.MapClaims) { c["exp"] = testNow.Add(-2 * time.Minute).Unix() }, nil, "", token.CheckExpired},
		{"expired within leeway", func(c jwt.MapClaims) { c["exp"] = testNow.Add(-30 * time.Second).Unix() }, nil, "", ""},
		{"no exp", func(c jwt.MapClaims) { delete(c, "exp") }, nil, "", token.CheckClaims},
		{"exp not a number", func(c jwt.MapClaims) { c["exp"] = "tomorrow" }, nil, "", token.CheckFormat},
		{"not yet valid", func(c jwt.MapClaims) { c["nbf"] = testNow.Add(2 * time.Minute).Unix() }, nil, "", token.CheckNotYetValid},
		{"issued in the future", func(c jwt.MapClaims) { c["iat"] = testNow.Add(2 * time.Minute).Unix() }, nil, "", token.CheckNotYetValid},
		{"older than max age", func(c jwt.MapClaims) { c["iat"] = testNow.Add(-12 * time.Minute).Unix() }, nil, "", token.CheckAge},
		{"no iat", func(c jwt.MapClaims) { delete(c, "iat") }, nil, "", token.CheckAge},
		{"no kid", nil, map[string]any{"kid": nil}, "", token.CheckKid},
		{"long kid", nil, map[string]any{"kid": strings.Repeat("k", 257)}, "", token.CheckKid},
		{"critical header", nil, map[string]any{"crit": []string{"exp"}}, "", token.CheckFormat},
		{"host out of scope", nil, nil, "evil.example.org", token.CheckHostScope},
		{"host in scope", nil, nil, "Web-1.Example.COM.", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			li := newLocalIssuer(t)
			claims := li.claims()
			if tc.edit != nil {
				tc.edit(claims)
			}
			header := tc.header
			if kid, ok := header["kid"]; ok && kid == nil {
				header = nil
				li.key.Kid = ""
			}
			_, err := li.verifier().Verify(context.Background(), li.sign(t, claims, header), tc.host)
			if tc.check == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			wantRejected(t, err, tc.check)
		})
	}
}

func TestTokenFromAnotherPinnedIssuersKey(t *testing.T) {
	a, b := newLocalIssuer(t), newLocalIssuer(t)
	b.url = "https://other-maa.test.invalid"
	v := &token.Verifier{Issuers: []token.IssuerConfig{a.config(), b.config()}, Now: a.clock.Now}

	// Signed by a's key but naming b as issuer: b's key set has no such kid.
	claims := a.claims()
	claims["iss"] = b.url
	_, err := v.Verify(context.Background(), a.sign(t, claims, nil), "")
	wantRejected(t, err, token.CheckKid)
}

func TestAlgNotConfiguredForIssuer(t *testing.T) {
	li := newLocalIssuer(t)
	for _, method := range []jwt.SigningMethod{jwt.SigningMethodRS384, jwt.SigningMethodPS256} {
		forged := jwt.NewWithClaims(method, li.claims())
		forged.Header["kid"] = li.key.Kid
		raw, err := forged.SignedString(li.key.Private)
		if err != nil {
			t.Fatal(err)
		}
		_, err = li.verifier().Verify(context.Background(), raw, "")
		wantRejected(t, err, token.CheckAlg)
	}
}

func TestTamperedPayload(t *testing.T) {
	li := newLocalIssuer(t)
	parts := strings.Split(li.sign(t, li.claims(), nil), ".")
	edited := li.claims()
	edited["x-ms-attestation-type"] = "tdxvm"
	parts[1] = encodeSegment(t, edited)
	_, err := li.verifier().Verify(context.Background(), strings.Join(parts, "."), "")
	wantRejected(t, err, token.CheckSignature)
}

func TestMalformedTokens(t *testing.T) {
	li := newLocalIssuer(t)
	valid := li.sign(t, li.claims(), nil)
	parts := strings.Split(valid, ".")
	tests := []struct {
		name  string
		raw   string
		check string
	}{
		{"oversized", valid + strings.Repeat("A", token.DefaultMaxSize), token.CheckSize},
		{"empty", "", token.CheckFormat},
		{"one dot", parts[0] + "." + parts[1], token.CheckFormat},
		{"four parts", valid + ".AAAA", token.CheckFormat},
		{"many dots", strings.Repeat(".", 10000), token.CheckFormat},
		{"many dotted parts", strings.Repeat("eyJ9.", 3000), token.CheckFormat},
		{"header not base64url", "e+J9." + parts[1] + "." + parts[2], token.CheckFormat},
		{"header not JSON", base64.RawURLEncoding.EncodeToString([]byte("alg")) + "." + parts[1] + "." + parts[2], token.CheckFormat},
		{"payload not JSON", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte("[1]")) + "." + parts[2], token.CheckFormat},
		{"padded payload", parts[0] + "." + parts[1] + "==." + parts[2], token.CheckFormat},
		{"no alg", encodeSegment(t, map[string]string{"kid": li.key.Kid}) + "." + parts[1] + "." + parts[2], token.CheckAlg},
		{"empty signature", parts[0] + "." + parts[1] + ".", token.CheckSignature},
		{"signature not base64url", parts[0] + "." + parts[1] + ".!!!", token.CheckFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := li.verifier().Verify(context.Background(), tc.raw, "")
			wantRejected(t, err, tc.check)
		})
	}
}

func TestMaxSizeConfigured(t *testing.T) {
	li := newLocalIssuer(t)
	raw := li.sign(t, li.claims(), nil)
	v := li.verifier()
	v.MaxSize = len(raw) - 1
	_, err := v.Verify(context.Background(), raw, "")
	wantRejected(t, err, token.CheckSize)

	v = li.verifier()
	v.MaxSize = len(raw)
	if _, err := v.Verify(context.Background(), raw, ""); err != nil {
		t.Fatalf("token of exactly MaxSize bytes: %v", err)
	}
}
