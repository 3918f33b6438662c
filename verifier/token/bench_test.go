package token_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
	"time"

	"github.com/rassh/rassh/verifier"
)

// BenchmarkVerifyRealMAA measures one verification of the recorded RS256 MAA
// token with its key set already cached: the client's CPU cost per token.
func BenchmarkVerifyRealMAA(b *testing.B) {
	v, _, _ := realVerifier(b, time.Date(2022, 10, 7, 13, 25, 0, 0, time.UTC))
	raw := realToken(b)
	ctx := context.Background()
	if _, err := v.Verify(ctx, raw, "host.example.com"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, raw, "host.example.com"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyRasshES256 measures one verification of an ES256 rassh
// token with its key set already cached.
func BenchmarkVerifyRasshES256(b *testing.B) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	server := newKeySetServer(b, jwks(b, ecJWK(b, "k", key)))
	v := rasshVerifier(server)
	raw := signES256(b, key, "k", rasshClaims(&verifier.Claims{TEE: "tdx", MRTD: make([]byte, 48), UserData: make([]byte, 64)}))
	ctx := context.Background()
	if _, err := v.Verify(ctx, raw, "h.example.com"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, raw, "h.example.com"); err != nil {
			b.Fatal(err)
		}
	}
}
