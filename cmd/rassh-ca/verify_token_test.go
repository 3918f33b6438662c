package main

import (
	"crypto/ecdsa"
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
)

// TestVerifyRasshToken verifies a token shaped like those of the rassh CA's
// token service: ES256, keys from /v1/jwks, the claims under "rassh".
func TestVerifyRasshToken(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	keySet, err := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "EC", "crv": "P-256", "kid": "ca-1", "use": "sig", "alg": "ES256",
		"x": base64.RawURLEncoding.EncodeToString(pub[1:33]),
		"y": base64.RawURLEncoding.EncodeToString(pub[33:]),
	}}})
	if err != nil {
		t.Fatal(err)
	}

	issued := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	inner := &verifier.Claims{
		TEE: "tdx", Platform: verifier.PlatformTDX, Verifier: verifier.VerifierLocal,
		MRTD: make([]byte, 48), UserData: make([]byte, 64), VerifiedAt: issued,
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"iss": "https://ca.example.com", "iat": issued.Unix(), "nbf": issued.Unix(),
		"exp": issued.Add(10 * time.Minute).Unix(), "jti": "1", "rassh": inner,
	})
	tok.Header["kid"] = "ca-1"
	raw, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	tokenPath, keySetPath := filepath.Join(dir, "token.jwt"), filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(tokenPath, []byte(raw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keySetPath, keySet, 0o600); err != nil {
		t.Fatal(err)
	}

	r := runCA(t, "verify", "--token", tokenPath, "--jwks", keySetPath, "--issuer", "https://ca.example.com", "--at", "2026-03-01T00:01:00Z")
	r.assert(t, exitOK, "")
	r.assertLines(t, "result verified", "verifier rassh", "issuer https://ca.example.com", "issued at 2026-03-01T00:00:00Z", "platform tdx")

	// With another issuer pinned, the token is rejected before any key is used.
	r = runCA(t, "verify", "--token", tokenPath, "--jwks", keySetPath, "--issuer", "https://other.example.com", "--at", "2026-03-01T00:01:00Z")
	r.assert(t, exitRejected, "rassh-ca verify: rejected: token issuer: verify token: issuer \"https://ca.example.com\" is not trusted\n")
}
