package client

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/rassh/rassh/client/raproto"
	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/binding"
	"golang.org/x/crypto/ssh"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// stubTokens stands in for *token.Verifier in the pure tests: the token
// string is a key into a table of claims. Token signature checks are tested
// through the live path with the real verifier.
type stubTokens map[string]*verifier.Claims

func (s stubTokens) Verify(_ context.Context, raw, _ string) (*verifier.Claims, error) {
	c, ok := s[raw]
	if !ok {
		return nil, verifier.Reject("signature", "unknown test token %q", raw)
	}
	copied := *c
	return &copied, nil
}

func randBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func newSSHKey(t testing.TB) (ssh.Signer, []byte) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer, signer.PublicKey().Marshal()
}

func testRequest(t testing.TB, mode string, hostKey []byte) *raproto.Request {
	return &raproto.Request{Version: 1, Mode: mode, Nonce: randBytes(t, 32), SessionID: randBytes(t, 32), HostKey: hostKey}
}

func tdClaims(userData binding.Value, iat time.Time) *verifier.Claims {
	return &verifier.Claims{TEE: "tdx", Platform: verifier.PlatformTDX, UserData: userData[:],
		Verifier: verifier.VerifierRassh, Issuer: "https://ca.test", IssuedAt: iat,
		TCB: &verifier.TCB{Status: verifier.TCBStatusUpToDate}}
}

func freshAnswer(req *raproto.Request, tokens stubTokens, iat time.Time) *raproto.Response {
	tokens["fresh"] = tdClaims(binding.Connect(req.Nonce, req.SessionID, req.HostKey), iat)
	return &raproto.Response{Version: 1, Status: raproto.StatusOK, Mode: raproto.ModeFresh, SessionBound: true, Token: "fresh"}
}

// testEpoch is an agent's epoch: K_att, the host keys and not-after, with a
// token over them.
type testEpoch struct {
	kAtt     ssh.Signer
	hostKeys [][]byte
	notAfter time.Time
}

func newEpoch(t testing.TB, tokens stubTokens, iat time.Time, hostKeys ...[]byte) *testEpoch {
	kAtt, kAttBlob := newSSHKey(t)
	ep := &testEpoch{kAtt: kAtt, hostKeys: hostKeys, notAfter: iat.Add(10 * time.Minute)}
	tokens["epoch"] = tdClaims(binding.Epoch(kAttBlob, hostKeys, ep.notAfter), iat)
	return ep
}

func (ep *testEpoch) answer(t testing.TB, req *raproto.Request) *raproto.Response {
	connect := binding.Connect(req.Nonce, req.SessionID, req.HostKey)
	sig, err := ep.kAtt.Sign(rand.Reader, connect[:])
	if err != nil {
		t.Fatal(err)
	}
	return &raproto.Response{Version: 1, Status: raproto.StatusOK, Mode: raproto.ModeEpoch, SessionBound: true,
		Token: "epoch", Epoch: &raproto.Epoch{KAtt: ep.kAtt.PublicKey().Marshal(), HostKeys: ep.hostKeys,
			NotAfter: ep.notAfter, Signature: ssh.Marshal(sig)}}
}

func newVerifier(tokens stubTokens, mode string) *Verifier {
	return &Verifier{Tokens: tokens, Policy: Policy{Mode: mode}, Now: func() time.Time { return testNow }}
}

func TestVerifyFreshAccepted(t *testing.T) {
	_, hostKey := newSSHKey(t)
	tokens := stubTokens{}
	req := testRequest(t, raproto.ModeFresh, hostKey)
	resp := freshAnswer(req, tokens, testNow.Add(-2*time.Second))

	res, err := newVerifier(tokens, raproto.ModeFresh).Verify(context.Background(), "h1", req, resp)
	if err != nil {
		t.Fatal(err)
	}
	if res.Mode != raproto.ModeFresh || !res.SessionBound {
		t.Errorf("mode %q session-bound %v, expected fresh and true", res.Mode, res.SessionBound)
	}
	if res.TokenAge != 2*time.Second {
		t.Errorf("token age %s, expected 2s", res.TokenAge)
	}
	if res.Binding != binding.Connect(req.Nonce, req.SessionID, req.HostKey) {
		t.Error("result binding is not the connect binding")
	}
}

func TestVerifyEpochAccepted(t *testing.T) {
	_, hostKey := newSSHKey(t)
	_, otherKey := newSSHKey(t)
	tokens := stubTokens{}
	ep := newEpoch(t, tokens, testNow.Add(-time.Minute), otherKey, hostKey)
	req := testRequest(t, raproto.ModeEpoch, hostKey)

	res, err := newVerifier(tokens, raproto.ModeEpoch).Verify(context.Background(), "h1", req, ep.answer(t, req))
	if err != nil {
		t.Fatal(err)
	}
	if !res.EpochNotAfter.Equal(ep.notAfter) {
		t.Errorf("epoch not-after %s, expected %s", res.EpochNotAfter, ep.notAfter)
	}
	if res.EpochKey == nil || string(res.EpochKey.Marshal()) != string(ep.kAtt.PublicKey().Marshal()) {
		t.Error("result does not carry K_att")
	}
}

func TestVerifyFreshWrongNonce(t *testing.T) {
	_, hostKey := newSSHKey(t)
	tokens := stubTokens{}
	req := testRequest(t, raproto.ModeFresh, hostKey)
	resp := freshAnswer(req, tokens, testNow)
	sent := *req
	sent.Nonce = randBytes(t, 32)

	_, err := newVerifier(tokens, raproto.ModeFresh).Verify(context.Background(), "h1", &sent, resp)
	assertCheck(t, err, "binding", ErrBinding)
}

func TestVerifyFreshOtherSession(t *testing.T) {
	_, hostKey := newSSHKey(t)
	tokens := stubTokens{}
	old := testRequest(t, raproto.ModeFresh, hostKey)
	replayed := freshAnswer(old, tokens, testNow)
	req := testRequest(t, raproto.ModeFresh, hostKey)

	_, err := newVerifier(tokens, raproto.ModeFresh).Verify(context.Background(), "h1", req, replayed)
	assertCheck(t, err, "binding", ErrBinding)
}

func TestVerifyFreshHostKeyMismatch(t *testing.T) {
	_, hostKey := newSSHKey(t)
	_, otherKey := newSSHKey(t)
	tokens := stubTokens{}
	req := testRequest(t, raproto.ModeFresh, hostKey)
	forOther := *req
	forOther.HostKey = otherKey
	resp := freshAnswer(&forOther, tokens, testNow)

	_, err := newVerifier(tokens, raproto.ModeFresh).Verify(context.Background(), "h1", req, resp)
	assertCheck(t, err, "binding", ErrBinding)
}

func TestVerifyEpochReplayedSignature(t *testing.T) {
	_, hostKey := newSSHKey(t)
	tokens := stubTokens{}
	ep := newEpoch(t, tokens, testNow, hostKey)
	old := testRequest(t, raproto.ModeEpoch, hostKey)
	replayed := ep.answer(t, old)
	req := testRequest(t, raproto.ModeEpoch, hostKey)

	_, err := newVerifier(tokens, raproto.ModeEpoch).Verify(context.Background(), "h1", req, replayed)
	assertCheck(t, err, "epoch-signature", ErrEpochSignature)
}

func TestVerifyEpochRelayedFromOtherHost(t *testing.T) {
	_, hostKey := newSSHKey(t)
	_, otherHostKey := newSSHKey(t)
	tokens := stubTokens{}
	other := newEpoch(t, tokens, testNow, otherHostKey)
	req := testRequest(t, raproto.ModeEpoch, hostKey)
	// The other host's agent signs the request it was relayed, unchanged.
	relayed := other.answer(t, req)

	_, err := newVerifier(tokens, raproto.ModeEpoch).Verify(context.Background(), "h1", req, relayed)
	assertCheck(t, err, "host-key", ErrHostKeyNotInEpoch)
}

func TestVerifyEpochTamperedFields(t *testing.T) {
	_, hostKey := newSSHKey(t)
	_, extraKey := newSSHKey(t)
	_, otherKAtt := newSSHKey(t)
	tokens := stubTokens{}
	ep := newEpoch(t, tokens, testNow.Add(-time.Minute), hostKey)
	cases := map[string]func(*raproto.Epoch){
		"not-after extended": func(e *raproto.Epoch) { e.NotAfter = e.NotAfter.Add(time.Hour) },
		"host key added":     func(e *raproto.Epoch) { e.HostKeys = append(e.HostKeys, extraKey) },
		"k_att swapped":      func(e *raproto.Epoch) { e.KAtt = otherKAtt },
	}
	for name, tamper := range cases {
		t.Run(name, func(t *testing.T) {
			req := testRequest(t, raproto.ModeEpoch, hostKey)
			resp := ep.answer(t, req)
			tamper(resp.Epoch)
			_, err := newVerifier(tokens, raproto.ModeEpoch).Verify(context.Background(), "h1", req, resp)
			assertCheck(t, err, "binding", ErrBinding)
		})
	}
}

func TestVerifyEpochNotAfterCapped(t *testing.T) {
	_, hostKey := newSSHKey(t)
	tokens := stubTokens{}
	iat := testNow.Add(-5 * time.Minute)
	ep := newEpoch(t, tokens, iat, hostKey)
	// The agent claims a day; the client allows iat plus 5 minutes.
	ep.notAfter = iat.Add(24 * time.Hour)
	tokens["epoch"] = tdClaims(binding.Epoch(ep.kAtt.PublicKey().Marshal(), ep.hostKeys, ep.notAfter), iat)
	v := newVerifier(tokens, raproto.ModeEpoch)
	v.Policy.MaxEpoch = 5 * time.Minute

	req := testRequest(t, raproto.ModeEpoch, hostKey)
	_, err := v.Verify(context.Background(), "h1", req, ep.answer(t, req))
	assertCheck(t, err, "epoch", ErrEpochExpired)

	v.Now = func() time.Time { return testNow.Add(-time.Second) }
	res, err := v.Verify(context.Background(), "h1", req, ep.answer(t, req))
	if err != nil {
		t.Fatalf("one second before the cap: %v", err)
	}
	if !res.EpochNotAfter.Equal(testNow) {
		t.Errorf("epoch not-after %s, expected the cap %s", res.EpochNotAfter, testNow)
	}
}

func TestVerifyEpochNotAfterPassed(t *testing.T) {
	_, hostKey := newSSHKey(t)
	tokens := stubTokens{}
	ep := newEpoch(t, tokens, testNow.Add(-9*time.Minute), hostKey) // not-after = iat + 10m
	req := testRequest(t, raproto.ModeEpoch, hostKey)
	v := newVerifier(tokens, raproto.ModeEpoch)
	v.Policy.MaxTokenAge = time.Hour

	v.Now = func() time.Time { return ep.notAfter.Add(-time.Second) }
	if _, err := v.Verify(context.Background(), "h1", req, ep.answer(t, req)); err != nil {
		t.Fatalf("one second before not-after: %v", err)
	}
	v.Now = func() time.Time { return ep.notAfter }
	_, err := v.Verify(context.Background(), "h1", req, ep.answer(t, req))
	assertCheck(t, err, "epoch", ErrEpochExpired)
}

func TestVerifyStaleToken(t *testing.T) {
	_, hostKey := newSSHKey(t)
	tokens := stubTokens{}
	req := testRequest(t, raproto.ModeFresh, hostKey)
	v := newVerifier(tokens, raproto.ModeFresh)
	v.Policy.MaxTokenAge = time.Minute

	resp := freshAnswer(req, tokens, testNow.Add(-time.Minute))
	if _, err := v.Verify(context.Background(), "h1", req, resp); err != nil {
		t.Fatalf("token exactly max age old: %v", err)
	}
	resp = freshAnswer(req, tokens, testNow.Add(-time.Minute-time.Second))
	_, err := v.Verify(context.Background(), "h1", req, resp)
	assertCheck(t, err, "token-age", ErrStaleToken)
}

func TestVerifyNotSessionBound(t *testing.T) {
	_, hostKey := newSSHKey(t)
	tokens := stubTokens{}
	req := testRequest(t, raproto.ModeFresh, hostKey)
	resp := freshAnswer(req, tokens, testNow)
	resp.SessionBound = false
	v := newVerifier(tokens, raproto.ModeFresh)

	_, err := v.Verify(context.Background(), "h1", req, resp)
	assertCheck(t, err, "session-bound", ErrNotSessionBound)

	v.Policy.AllowUnbound = true
	res, err := v.Verify(context.Background(), "h1", req, resp)
	if err != nil {
		t.Fatalf("allow_unbound: %v", err)
	}
	if res.SessionBound {
		t.Error("result says session-bound")
	}
}

func TestVerifyModes(t *testing.T) {
	_, hostKey := newSSHKey(t)
	tokens := stubTokens{}
	ep := newEpoch(t, tokens, testNow, hostKey)

	// An epoch answer to a fresh request is weaker than requested.
	req := testRequest(t, raproto.ModeFresh, hostKey)
	_, err := newVerifier(tokens, raproto.ModeFresh).Verify(context.Background(), "h1", req, ep.answer(t, req))
	assertCheck(t, err, "mode", ErrModeMismatch)

	// A fresh answer to an epoch request is stronger and accepted.
	req = testRequest(t, raproto.ModeEpoch, hostKey)
	if _, err := newVerifier(tokens, raproto.ModeEpoch).Verify(context.Background(), "h1", req, freshAnswer(req, tokens, testNow)); err != nil {
		t.Fatalf("fresh answer to epoch request: %v", err)
	}
}

func TestVerifyAgentStatuses(t *testing.T) {
	_, hostKey := newSSHKey(t)
	req := testRequest(t, raproto.ModeFresh, hostKey)
	v := newVerifier(stubTokens{}, raproto.ModeFresh)

	_, err := v.Verify(context.Background(), "h1", req, raproto.Busy(250))
	assertCheck(t, err, "agent", ErrAgentBusy)
	if !IsUndecided(err) {
		t.Error("busy is not classed as undecided")
	}
	_, err = v.Verify(context.Background(), "h1", req, raproto.Failure(raproto.CodeAttestation, "no evidence provider"))
	assertCheck(t, err, "agent", ErrAgentFailure)
	_, err = v.Verify(context.Background(), "h1", req, &raproto.Response{Version: 2, Status: raproto.StatusOK})
	assertCheck(t, err, "response", ErrMalformedResponse)
}

func TestVerifyTokenRejected(t *testing.T) {
	_, hostKey := newSSHKey(t)
	req := testRequest(t, raproto.ModeFresh, hostKey)
	resp := &raproto.Response{Version: 1, Status: raproto.StatusOK, Mode: raproto.ModeFresh, SessionBound: true, Token: "forged"}

	_, err := newVerifier(stubTokens{}, raproto.ModeFresh).Verify(context.Background(), "h1", req, resp)
	assertCheck(t, err, "token", ErrToken)
	if IsUndecided(err) {
		t.Error("a rejected token is classed as undecided")
	}
}

func TestVerifyPolicy(t *testing.T) {
	_, hostKey := newSSHKey(t)
	cases := map[string]func(*verifier.Claims){
		"debug":      func(c *verifier.Claims) { c.Debug = true },
		"simulated":  func(c *verifier.Claims) { c.Simulated = true },
		"tcb_status": func(c *verifier.Claims) { c.TCB.Status = verifier.TCBStatusOutOfDate },
		"tee":        func(c *verifier.Claims) { c.TEE = "sev-snp" },
	}
	for rule, change := range cases {
		t.Run(rule, func(t *testing.T) {
			tokens := stubTokens{}
			req := testRequest(t, raproto.ModeFresh, hostKey)
			resp := freshAnswer(req, tokens, testNow)
			change(tokens["fresh"])
			_, err := newVerifier(tokens, raproto.ModeFresh).Verify(context.Background(), "h1", req, resp)
			assertCheck(t, err, "policy", ErrPolicy)
			var pe *verifier.PolicyError
			if !errors.As(err, &pe) || pe.Rule != rule {
				t.Errorf("policy rule %v, expected %q", pe, rule)
			}
		})
	}
}

func assertCheck(t *testing.T, err error, check string, sentinel error) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("error %v, expected %v", err, sentinel)
	}
	var ce *CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a *CheckError", err)
	}
	if ce.Check != check {
		t.Errorf("check %q, expected %q", ce.Check, check)
	}
}
