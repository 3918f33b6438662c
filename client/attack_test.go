package client_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rassh/rassh/client"
	"github.com/rassh/rassh/client/raproto"
	"github.com/rassh/rassh/client/sshdtest"
	"github.com/rassh/rassh/verifier/binding"
	"golang.org/x/crypto/ssh"
)

// startMITM serves a Unix socket in place of the host agent's ra-ssh socket,
// as an attacker who controls the host (but not its TD) would, and answers
// each request with answer(request).
func startMITM(t *testing.T, answer func(*raproto.Request) *raproto.Response) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "mitm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	socket := filepath.Join(dir, "ra-ssh.sock")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			var req raproto.Request
			if raproto.ReadFrame(c, &req) == nil {
				raproto.WriteFrame(c, answer(&req))
			}
			c.Close()
		}
	}()
	return socket
}

// askAgent sends req to an agent's ra-ssh socket directly.
func askAgent(t *testing.T, socket string, req *raproto.Request) *raproto.Response {
	c, err := net.Dial("unix", socket)
	if err != nil {
		t.Error(err)
		return raproto.Failure("test", err.Error())
	}
	defer c.Close()
	var resp raproto.Response
	if err := raproto.WriteFrame(c, req); err != nil {
		t.Error(err)
	}
	if err := raproto.ReadFrame(c, &resp); err != nil {
		t.Error(err)
	}
	return &resp
}

func bothModes(t *testing.T, run func(t *testing.T, mode string, want error)) {
	t.Run("epoch", func(t *testing.T) { run(t, raproto.ModeEpoch, client.ErrEpochSignature) })
	t.Run("fresh", func(t *testing.T) { run(t, raproto.ModeFresh, client.ErrBinding) })
}

func TestAttackWrongNonce(t *testing.T) {
	bothModes(t, func(t *testing.T, mode string, want error) {
		e := newEnv(t, mode, sshdtest.Options{})
		e.dialer.Socket = startMITM(t, func(req *raproto.Request) *raproto.Response {
			changed := *req
			changed.Nonce = make([]byte, raproto.NonceSize)
			return askAgent(t, e.host.RASocket, &changed)
		})
		_, err := e.dial(t)
		assertErr(t, err, want, "a replay")
	})
}

func TestAttackReplayedResponse(t *testing.T) {
	bothModes(t, func(t *testing.T, mode string, want error) {
		e := newEnv(t, mode, sshdtest.Options{})
		var mu sync.Mutex
		var recorded *raproto.Response
		e.dialer.Socket = startMITM(t, func(req *raproto.Request) *raproto.Response {
			mu.Lock()
			defer mu.Unlock()
			if recorded == nil {
				recorded = askAgent(t, e.host.RASocket, req)
			}
			return recorded
		})
		if _, err := e.dial(t); err != nil {
			t.Fatalf("first, recorded connection: %v", err)
		}
		_, err := e.dial(t)
		assertErr(t, err, want, "a replay")
	})
}

// TestAttackRelayFromOtherHost: the attacker's host A has a certificate from
// the same CA but no TD. It relays the client's nonce to an enrolled host B
// over its own SSH connection to B, so B's agent attests B's session and
// host key, and hands the answer back to the client.
func TestAttackRelayFromOtherHost(t *testing.T) {
	modes := map[string]error{raproto.ModeEpoch: client.ErrHostKeyNotInEpoch, raproto.ModeFresh: client.ErrBinding}
	for mode, want := range modes {
		t.Run(mode, func(t *testing.T) {
			issuer := sshdtest.NewIssuer(t)
			ca := sshdtest.NewCA(t)
			hostB := sshdtest.Start(t, sshdtest.Options{CA: ca, Attester: issuer})
			e := &env{issuer: issuer, host: sshdtest.Start(t, sshdtest.Options{CA: ca, NoAgent: true})}
			e.dialer = newDialer(t, e.host, mode, issuer.Config("127.0.0.1"))

			toB, err := ssh.Dial("tcp", hostB.Addr, &ssh.ClientConfig{User: "root",
				Auth: []ssh.AuthMethod{ssh.PublicKeys(hostB.ClientKey)}, HostKeyCallback: ssh.InsecureIgnoreHostKey()})
			if err != nil {
				t.Fatal(err)
			}
			defer toB.Close()
			e.dialer.Socket = startMITM(t, func(req *raproto.Request) *raproto.Response {
				relayed := *req
				relayed.SessionID = toB.SessionID()
				relayed.HostKey = hostB.HostKey.Marshal()
				return askOverSSH(t, toB, hostB.RASocket, &relayed)
			})
			_, err = e.dial(t)
			assertErr(t, err, want, "a relay")
		})
	}
}

func askOverSSH(t *testing.T, c *ssh.Client, socket string, req *raproto.Request) *raproto.Response {
	ch, err := c.Dial("unix", socket)
	if err != nil {
		t.Error(err)
		return raproto.Failure("test", err.Error())
	}
	defer ch.Close()
	var resp raproto.Response
	if err := raproto.WriteFrame(ch, req); err != nil {
		t.Error(err)
	}
	if err := raproto.ReadFrame(ch, &resp); err != nil {
		t.Error(err)
	}
	return &resp
}

// TestAttackHostKeyMismatch: host A's sshd signs with its own key while the
// answer comes from an agent that attests another key.
func TestAttackHostKeyMismatch(t *testing.T) {
	issuer := sshdtest.NewIssuer(t)
	ca := sshdtest.NewCA(t)
	attesting := sshdtest.Start(t, sshdtest.Options{CA: ca, Attester: issuer, NoHostKeyAgent: true})
	e := &env{issuer: issuer, host: sshdtest.Start(t, sshdtest.Options{CA: ca, NoAgent: true})}
	e.dialer = newDialer(t, e.host, raproto.ModeEpoch, issuer.Config("127.0.0.1"))
	e.dialer.Verifier.Policy.AllowUnbound = true

	// Unchanged, the request names A's key, which the agent does not serve.
	e.dialer.Socket = startMITM(t, func(req *raproto.Request) *raproto.Response {
		return askAgent(t, attesting.RASocket, req)
	})
	_, err := e.dial(t)
	assertErr(t, err, client.ErrAgentFailure, raproto.CodeWrongHostKey)

	// Rewritten to the agent's key, the answer covers the wrong key.
	e.dialer.Socket = startMITM(t, func(req *raproto.Request) *raproto.Response {
		changed := *req
		changed.HostKey = attesting.HostKey.Marshal()
		return askAgent(t, attesting.RASocket, &changed)
	})
	_, err = e.dial(t)
	assertErr(t, err, client.ErrHostKeyNotInEpoch, "host key mismatch")
}

// attesterFunc adapts a function to rasshd.Attester.
type attesterFunc func(ctx context.Context, v binding.Value) (string, error)

func (f attesterFunc) Attest(ctx context.Context, v binding.Value) (string, error) { return f(ctx, v) }

// TestAttackForgedTokens: the host's agent serves tokens over the right
// binding value that the trusted issuer never signed.
func TestAttackForgedTokens(t *testing.T) {
	trusted := sshdtest.NewIssuer(t)
	forger := sshdtest.NewIssuer(t)
	forger.ClaimedIssuer = trusted.URL

	cases := map[string]struct {
		attest func(ctx context.Context, v binding.Value) (string, error)
		text   string
	}{
		"alg none": {func(ctx context.Context, v binding.Value) (string, error) {
			raw, err := trusted.Attest(ctx, v)
			return reheader(raw, map[string]any{"alg": "none", "kid": "test-es256"}, ""), err
		}, "token alg"},
		"hmac with the public key": {func(ctx context.Context, v binding.Value) (string, error) {
			raw, err := trusted.Attest(ctx, v)
			return hmacResign(t, raw, trusted.JWK()), err
		}, "token alg"},
		"embedded jwk": {func(ctx context.Context, v binding.Value) (string, error) {
			return forger.AttestWithHeader(ctx, v, map[string]any{"jwk": forger.JWK()})
		}, "token signature"},
		"jku to the forger's key set": {func(ctx context.Context, v binding.Value) (string, error) {
			return forger.AttestWithHeader(ctx, v, map[string]any{"jku": forger.URL + "/v1/jwks", "kid": "forged"})
		}, "token kid"},
		"untrusted issuer's own name": {func(ctx context.Context, v binding.Value) (string, error) {
			return sshdtest.NewIssuer(t).Attest(ctx, v)
		}, "token issuer"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, raproto.ModeFresh, sshdtest.Options{Attester: attesterFunc(c.attest)})
			e.dialer = newDialer(t, e.host, raproto.ModeFresh, trusted.Config(e.host.Name))
			_, err := e.dial(t)
			assertErr(t, err, client.ErrToken, c.text)
		})
	}
}

// reheader replaces a JWT's header and signature.
func reheader(raw string, header map[string]any, signature string) string {
	parts := strings.Split(raw, ".")
	h, _ := json.Marshal(header)
	return base64.RawURLEncoding.EncodeToString(h) + "." + parts[1] + "." + signature
}

// hmacResign signs the token's payload with HS256, keyed with the issuer's
// public key as published, the classic algorithm confusion.
func hmacResign(t *testing.T, raw string, jwk map[string]string) string {
	key, err := json.Marshal(jwk)
	if err != nil {
		t.Fatal(err)
	}
	unsigned := reheader(raw, map[string]any{"alg": "HS256", "kid": "test-es256"}, "")
	unsigned = strings.TrimSuffix(unsigned, ".")
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(unsigned))
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}
