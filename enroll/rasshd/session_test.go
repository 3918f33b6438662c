package rasshd

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/client/raproto"
	"github.com/rassh/rassh/verifier/binding"
)

func TestSSHDRecordsSessionID(t *testing.T) {
	e := newHostEnv(t)
	client, hostKey := e.dial(t, 0)

	sess, ok := e.sessions.Lookup(client.SessionID())
	if !ok {
		t.Fatalf("agent did not record session ID %x", client.SessionID())
	}
	if !bytes.Equal(sess.ID, client.SessionID()) {
		t.Fatalf("recorded session ID %x, client has %x", sess.ID, client.SessionID())
	}
	if !bytes.Equal(sess.HostKey, hostKey.Marshal()) {
		t.Fatalf("recorded host key differs from the one the client saw")
	}
	if sess.Rekeys != 0 {
		t.Fatalf("rekeys = %d after the first key exchange, want 0", sess.Rekeys)
	}
	if got := e.sessions.Len(); got != 1 {
		t.Fatalf("agent holds %d sessions, want 1", got)
	}

	client.Close()
	waitFor(t, "session removal after disconnect", func() bool { return e.sessions.Len() == 0 })
}

func TestSSHDRekeyKeepsSessionID(t *testing.T) {
	e := newHostEnv(t)
	client, hostKey := e.dial(t, 4096)
	id := client.SessionID()

	// Move enough data to pass the rekey threshold several times.
	session, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := session.Output("head -c 200000 /dev/zero")
	if err != nil || len(out) != 200000 {
		t.Fatalf("exec: %d bytes, %v", len(out), err)
	}
	waitFor(t, "a rekey", func() bool {
		s, ok := e.sessions.Lookup(id)
		return ok && s.Rekeys > 0
	})
	if got := e.sessions.Len(); got != 1 {
		t.Fatalf("agent holds %d sessions after rekeys, want 1", got)
	}
	if !bytes.Equal(client.SessionID(), id) {
		t.Fatalf("client session ID changed on rekey")
	}

	// ra-ssh still answers for the original session ID only.
	resp := e.askStreamLocal(t, client, newRequest(t, raproto.ModeEpoch, id, hostKey))
	if resp.Status != raproto.StatusOK || !resp.SessionBound {
		t.Fatalf("after rekey: status %q code %q bound %v", resp.Status, resp.Code, resp.SessionBound)
	}
}

func TestStreamLocalEpochAnswer(t *testing.T) {
	e := newHostEnv(t)
	client, hostKey := e.dial(t, 0)
	req := newRequest(t, raproto.ModeEpoch, client.SessionID(), hostKey)

	resp := e.askStreamLocal(t, client, req)
	if resp.Status != raproto.StatusOK || resp.Mode != raproto.ModeEpoch || !resp.SessionBound {
		t.Fatalf("status %q mode %q bound %v error %q", resp.Status, resp.Mode, resp.SessionBound, resp.Error)
	}
	checkEpochAnswer(t, req, resp)
}

func TestSubsystemFreshAnswer(t *testing.T) {
	e := newHostEnv(t)
	client, hostKey := e.dial(t, 0)
	req := newRequest(t, raproto.ModeFresh, client.SessionID(), hostKey)

	resp := askSubsystem(t, client, req)
	if resp.Status != raproto.StatusOK || resp.Mode != raproto.ModeFresh || !resp.SessionBound {
		t.Fatalf("status %q mode %q bound %v error %q", resp.Status, resp.Mode, resp.SessionBound, resp.Error)
	}
	want := binding.Connect(req.Nonce, req.SessionID, req.HostKey)
	if resp.Token != tokenFor(want) {
		t.Fatalf("token %q, want one over binding.Connect %q", resp.Token, tokenFor(want))
	}
	if resp.Epoch != nil {
		t.Fatalf("fresh answer carries an epoch part")
	}
}

func TestSubsystemEpochAnswer(t *testing.T) {
	e := newHostEnv(t)
	client, hostKey := e.dial(t, 0)
	req := newRequest(t, raproto.ModeEpoch, client.SessionID(), hostKey)

	resp := askSubsystem(t, client, req)
	if resp.Status != raproto.StatusOK || !resp.SessionBound {
		t.Fatalf("status %q bound %v error %q", resp.Status, resp.SessionBound, resp.Error)
	}
	checkEpochAnswer(t, req, resp)
}

func TestUnsignedSessionIDRejected(t *testing.T) {
	e := newHostEnv(t)
	client, hostKey := e.dial(t, 0)
	forged := bytes.Repeat([]byte{0x5a}, 32)

	for name, ask := range map[string]func(*raproto.Request) *raproto.Response{
		"streamlocal": func(r *raproto.Request) *raproto.Response { return e.askStreamLocal(t, client, r) },
		"subsystem":   func(r *raproto.Request) *raproto.Response { return askSubsystem(t, client, r) },
	} {
		resp := ask(newRequest(t, raproto.ModeEpoch, forged, hostKey))
		if resp.Status != raproto.StatusError || resp.Code != raproto.CodeUnknownSession {
			t.Fatalf("%s: status %q code %q, want error %q", name, resp.Status, resp.Code, raproto.CodeUnknownSession)
		}
		if resp.Error != "session ID was not signed by this agent" || resp.Token != "" {
			t.Fatalf("%s: error %q token %q", name, resp.Error, resp.Token)
		}
	}
}

func TestOtherConnectionSessionIDRejected(t *testing.T) {
	e := newHostEnv(t)
	first, hostKey := e.dial(t, 0)
	second, _ := e.dial(t, 0)

	// Over the first connection, ask about the second one's session.
	req := newRequest(t, raproto.ModeEpoch, second.SessionID(), hostKey)
	for name, resp := range map[string]*raproto.Response{
		"streamlocal": e.askStreamLocal(t, first, req),
		"subsystem":   askSubsystem(t, first, req),
	} {
		if resp.Status != raproto.StatusError || resp.Code != raproto.CodeWrongSession {
			t.Fatalf("%s: status %q code %q, want error %q", name, resp.Status, resp.Code, raproto.CodeWrongSession)
		}
	}

	// Each connection still gets its own answer.
	if resp := e.askStreamLocal(t, second, req); resp.Status != raproto.StatusOK {
		t.Fatalf("own session: status %q code %q", resp.Status, resp.Code)
	}
}

func TestWrongHostKeyRejected(t *testing.T) {
	e := newHostEnv(t, "ecdsa")
	client, hostKey := e.dial(t, 0)
	var other []byte
	for _, b := range e.keys.Blobs() {
		if !bytes.Equal(b, hostKey.Marshal()) {
			other = b
		}
	}
	req := newRequest(t, raproto.ModeEpoch, client.SessionID(), hostKey)
	req.HostKey = other

	resp := e.askStreamLocal(t, client, req)
	if resp.Status != raproto.StatusError || resp.Code != raproto.CodeWrongHostKey {
		t.Fatalf("status %q code %q, want error %q", resp.Status, resp.Code, raproto.CodeWrongHostKey)
	}
}

func TestSubsystemAgentDown(t *testing.T) {
	e := newHostEnv(t)
	client, hostKey := e.dial(t, 0)
	// Stop only the ra-ssh socket: sshd keeps its HostKeyAgent.
	if err := e.raListen.Close(); err != nil {
		t.Fatal(err)
	}

	resp := askSubsystem(t, client, newRequest(t, raproto.ModeEpoch, client.SessionID(), hostKey))
	if resp.Status != raproto.StatusError || resp.Code != raproto.CodeAgentDown {
		t.Fatalf("status %q code %q, want error %q", resp.Status, resp.Code, raproto.CodeAgentDown)
	}
	if !strings.Contains(resp.Error, "rassh-agent is not running") {
		t.Fatalf("error %q does not say the agent is down", resp.Error)
	}
}

// checkEpochAnswer checks an epoch answer as a client would: the K_att
// signature over the connection binding, and the token over the epoch binding.
func checkEpochAnswer(t *testing.T, req *raproto.Request, resp *raproto.Response) {
	t.Helper()
	ep := resp.Epoch
	if ep == nil {
		t.Fatal("epoch answer without epoch part")
	}
	if !containsBlob(ep.HostKeys, req.HostKey) {
		t.Fatal("epoch does not cover the session's host key")
	}
	if resp.Token != tokenFor(binding.Epoch(ep.KAtt, ep.HostKeys, ep.NotAfter)) {
		t.Fatalf("token %q is not over binding.Epoch of the answer", resp.Token)
	}
	kAtt, err := ssh.ParsePublicKey(ep.KAtt)
	if err != nil || kAtt.Type() != ssh.KeyAlgoED25519 {
		t.Fatalf("K_att: %v, type %v", err, kAtt)
	}
	var sig ssh.Signature
	if err := ssh.Unmarshal(ep.Signature, &sig); err != nil {
		t.Fatal(err)
	}
	v := binding.Connect(req.Nonce, req.SessionID, req.HostKey)
	if err := kAtt.Verify(v[:], &sig); err != nil {
		t.Fatalf("K_att signature over binding.Connect: %v", err)
	}
}

// A non-root login has a separate unprivileged sshd process for the session,
// a child of the privileged one that did the key exchange, so the agent must
// walk up the process tree.
func TestStreamLocalNonRootUser(t *testing.T) {
	e := newHostEnv(t)
	client, hostKey := e.dialAs(t, "nobody", 0)
	other, _ := e.dial(t, 0)

	resp := e.askStreamLocal(t, client, newRequest(t, raproto.ModeEpoch, client.SessionID(), hostKey))
	if resp.Status != raproto.StatusOK || !resp.SessionBound {
		t.Fatalf("own session: status %q code %q bound %v", resp.Status, resp.Code, resp.SessionBound)
	}
	resp = e.askStreamLocal(t, client, newRequest(t, raproto.ModeEpoch, other.SessionID(), hostKey))
	if resp.Status != raproto.StatusError || resp.Code != raproto.CodeWrongSession {
		t.Fatalf("other session: status %q code %q, want error %q", resp.Status, resp.Code, raproto.CodeWrongSession)
	}
}
