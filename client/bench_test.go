package client

import (
	"context"
	"testing"
	"time"

	"github.com/rassh/rassh/client/raproto"
)

// BenchmarkVerifyEpoch measures the client's CPU cost of checking one epoch
// answer after the token verification: the binding, the host key and K_att's
// Ed25519 signature. Token verification is the token package's benchmark.
func BenchmarkVerifyEpoch(b *testing.B) {
	_, hostKey := newSSHKey(b)
	tokens := stubTokens{}
	ep := newEpoch(b, tokens, testNow, hostKey)
	req := testRequest(b, raproto.ModeEpoch, hostKey)
	resp := ep.answer(b, req)
	v := newVerifier(tokens, raproto.ModeEpoch)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, "h1", req, resp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyFresh(b *testing.B) {
	_, hostKey := newSSHKey(b)
	tokens := stubTokens{}
	req := testRequest(b, raproto.ModeFresh, hostKey)
	resp := freshAnswer(req, tokens, testNow.Add(-time.Second))
	v := newVerifier(tokens, raproto.ModeFresh)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, "h1", req, resp); err != nil {
			b.Fatal(err)
		}
	}
}
