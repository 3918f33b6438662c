package client_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/rassh/rassh/client"
	"github.com/rassh/rassh/client/raproto"
	"github.com/rassh/rassh/client/sshdtest"
	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/binding"
	"github.com/rassh/rassh/verifier/token"
	"golang.org/x/crypto/ssh"
)

// liveEpochAnswer asks a real agent behind a real sshd for an epoch answer,
// as BenchmarkVerifyEpochWithToken does.
func liveEpochAnswer(b *testing.B) (*sshdtest.Issuer, *raproto.Request, *raproto.Response) {
	issuer := sshdtest.NewIssuer(b)
	host := sshdtest.Start(b, sshdtest.Options{Attester: issuer})
	conn, err := ssh.Dial("tcp", host.Addr, &ssh.ClientConfig{User: "root",
		Auth: []ssh.AuthMethod{ssh.PublicKeys(host.ClientKey)}, HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	req := &raproto.Request{Version: 1, Mode: raproto.ModeEpoch, Nonce: make([]byte, 32), SessionID: conn.SessionID(),
		HostKey: host.HostKey.Marshal()}
	ch, err := conn.Dial("unix", host.RASocket)
	if err != nil {
		b.Fatal(err)
	}
	defer ch.Close()
	var resp raproto.Response
	if err := raproto.WriteFrame(ch, req); err != nil {
		b.Fatal(err)
	}
	if err := raproto.ReadFrame(ch, &resp); err != nil {
		b.Fatal(err)
	}
	return issuer, req, &resp
}

// BenchmarkVerifyEpochWithCachedToken is BenchmarkVerifyEpochWithToken with
// the token in the on-disk cache: per connection it reads and checks one
// cache file and its MAC, rechecks the token's issuer, host and times, then
// checks the binding, the policy and K_att's signature.
func BenchmarkVerifyEpochWithCachedToken(b *testing.B) {
	issuer, req, resp := liveEpochAnswer(b)
	cache := &client.TokenCache{Dir: filepath.Join(b.TempDir(), "tokens"),
		Tokens: &token.Verifier{Issuers: []token.IssuerConfig{issuer.Config("127.0.0.1")}}}
	v := &client.Verifier{Tokens: cache, Claims: client.DefaultClaimsPolicy{AllowSimulated: true},
		Policy: client.Policy{Mode: raproto.ModeEpoch}}
	ctx := context.Background()
	if _, err := v.Verify(ctx, "127.0.0.1", req, resp); err != nil {
		b.Fatal(err) // fetches the key set and stores the token, outside the loop
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, "127.0.0.1", req, resp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTokenCacheMiss measures what a run pays for a token that is not
// in the cache: the full ES256 verification, writing the cache file and
// listing a directory of 32 other entries. Each iteration also removes the
// file again, so that the next one misses too.
func BenchmarkTokenCacheMiss(b *testing.B) {
	issuer := sshdtest.NewIssuer(b)
	cache := &client.TokenCache{Dir: filepath.Join(b.TempDir(), "tokens"),
		Tokens: &token.Verifier{Issuers: []token.IssuerConfig{issuer.Config("h")}}}
	ctx := context.Background()
	for i := range 32 {
		if _, err := cache.Verify(ctx, signBenchToken(b, issuer, byte(i)), "h"); err != nil {
			b.Fatal(err)
		}
	}
	raw := signBenchToken(b, issuer, 0xff)
	sum := sha256.Sum256([]byte(raw))
	path := filepath.Join(cache.Dir, "token-"+hex.EncodeToString(sum[:])+".json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cache.Verify(ctx, raw, "h"); err != nil {
			b.Fatal(err)
		}
		if err := os.Remove(path); err != nil {
			b.Fatal(err)
		}
	}
}

func signBenchToken(b *testing.B, issuer *sshdtest.Issuer, n byte) string {
	raw, err := issuer.Sign(&verifier.Claims{TEE: "tdx", MRTD: make([]byte, 48), UserData: make([]byte, binding.Size),
		ReportData: []byte{n}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return raw
}
