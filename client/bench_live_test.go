package client_test

import (
	"context"
	"testing"

	"github.com/rassh/rassh/client"
	"github.com/rassh/rassh/client/raproto"
	"github.com/rassh/rassh/client/sshdtest"
	"github.com/rassh/rassh/verifier/token"
	"golang.org/x/crypto/ssh"
)

// BenchmarkVerifyEpochWithToken measures the client's CPU cost of one whole
// epoch verification with the real token verifier: the ES256 token signature
// (key set already fetched), its claims, the binding and K_att's signature.
// The answer comes from the real agent once; the loop verifies it again.
func BenchmarkVerifyEpochWithToken(b *testing.B) {
	issuer := sshdtest.NewIssuer(b)
	host := sshdtest.Start(b, sshdtest.Options{Attester: issuer})
	sessionID := make([]byte, 32)
	req := &raproto.Request{Version: 1, Mode: raproto.ModeEpoch, Nonce: make([]byte, 32), SessionID: sessionID,
		HostKey: host.HostKey.Marshal()}

	// Ask over a real connection so the agent knows the session ID.
	conn, err := ssh.Dial("tcp", host.Addr, &ssh.ClientConfig{User: "root",
		Auth: []ssh.AuthMethod{ssh.PublicKeys(host.ClientKey)}, HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	req.SessionID = conn.SessionID()
	ch, err := conn.Dial("unix", host.RASocket)
	if err != nil {
		b.Fatal(err)
	}
	var resp raproto.Response
	if err := raproto.WriteFrame(ch, req); err != nil {
		b.Fatal(err)
	}
	if err := raproto.ReadFrame(ch, &resp); err != nil {
		b.Fatal(err)
	}
	ch.Close()

	v := &client.Verifier{Tokens: &token.Verifier{Issuers: []token.IssuerConfig{issuer.Config("127.0.0.1")}},
		Claims: client.DefaultClaimsPolicy{AllowSimulated: true}, Policy: client.Policy{Mode: raproto.ModeEpoch}}
	ctx := context.Background()
	if _, err := v.Verify(ctx, "127.0.0.1", req, &resp); err != nil {
		b.Fatal(err) // also fetches the key set, outside the loop
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, "127.0.0.1", req, &resp); err != nil {
			b.Fatal(err)
		}
	}
}
