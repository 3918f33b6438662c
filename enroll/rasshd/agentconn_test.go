package rasshd

import (
	"bytes"
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"
)

// agentClient speaks the ssh-agent protocol to a HostKeyAgent started in
// this process, with this process as the "sshd".
type agentClient struct {
	conn net.Conn
	keys *KeyRing
	sess *Sessions
}

func newAgentClient(t *testing.T) *agentClient {
	t.Helper()
	keys := &KeyRing{}
	if _, err := keys.GenerateKey("ed25519"); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.GenerateKey("rsa"); err != nil {
		t.Fatal(err)
	}
	sessions := NewSessions()
	sock := filepath.Join(t.TempDir(), "agent", "hostkey.sock")
	l, err := ListenPrivate(sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	hka := &HostKeyAgent{Keys: keys, Sessions: sessions, AllowedUID: uint32(os.Getuid()), Logger: testLogger(t)}
	go hka.Serve(l)

	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &agentClient{conn: conn, keys: keys, sess: sessions}
}

func (c *agentClient) request(t *testing.T, typ byte, body []byte) (byte, []byte) {
	t.Helper()
	if err := writeAgentMessage(c.conn, typ, body); err != nil {
		t.Fatal(err)
	}
	gotType, gotBody, err := readAgentMessage(c.conn)
	if err != nil {
		t.Fatal(err)
	}
	return gotType, gotBody
}

func (c *agentClient) sign(t *testing.T, key, data []byte, flags uint32) (*ssh.Signature, bool) {
	t.Helper()
	body := append(wireString(key), wireString(data)...)
	body = binary.BigEndian.AppendUint32(body, flags)
	typ, resp := c.request(t, agentSignRequest, body)
	if typ == agentFailure {
		return nil, false
	}
	if typ != agentSignResponse {
		t.Fatalf("answer type %d, want %d", typ, agentSignResponse)
	}
	blob, _, ok := readString(resp)
	if !ok {
		t.Fatal("malformed sign response")
	}
	var sig ssh.Signature
	if err := ssh.Unmarshal(blob, &sig); err != nil {
		t.Fatal(err)
	}
	return &sig, true
}

func TestAgentSessionAndRekey(t *testing.T) {
	c := newAgentClient(t)
	ed := c.keys.PublicKeys()[0]
	h1 := bytes.Repeat([]byte{1}, 32)
	h2 := bytes.Repeat([]byte{2}, 32)

	sig, ok := c.sign(t, ed.Marshal(), h1, 0)
	if !ok {
		t.Fatal("first exchange hash refused")
	}
	if err := ed.Verify(h1, sig); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.sign(t, ed.Marshal(), h2, 0); !ok {
		t.Fatal("rekey exchange hash refused")
	}

	s, ok := c.sess.Lookup(h1)
	if !ok || s.Rekeys != 1 || s.SSHD.PID != os.Getpid() {
		t.Fatalf("session %+v found %v, want H1 with one rekey from this process", s, ok)
	}
	if _, ok := c.sess.Lookup(h2); ok {
		t.Fatal("a rekey's exchange hash was recorded as a session ID")
	}
}

func TestAgentRSAFlags(t *testing.T) {
	c := newAgentClient(t)
	rsaKey := c.keys.PublicKeys()[1]
	for flags, want := range map[uint32]string{
		0:              ssh.KeyAlgoRSA,
		agentRSASHA256: ssh.KeyAlgoRSASHA256,
		agentRSASHA512: ssh.KeyAlgoRSASHA512,
	} {
		h := bytes.Repeat([]byte{byte(flags)}, 64)
		sig, ok := c.sign(t, rsaKey.Marshal(), h, flags)
		if !ok || sig.Format != want {
			t.Fatalf("flags %d: signature format %v, want %s", flags, sig, want)
		}
		if err := rsaKey.Verify(h, sig); err != nil {
			t.Fatalf("flags %d: %v", flags, err)
		}
	}
}

func TestAgentHostkeysProveChecks(t *testing.T) {
	c := newAgentClient(t)
	ed := c.keys.PublicKeys()[0].Marshal()
	rsaKey := c.keys.PublicKeys()[1].Marshal()
	sid := bytes.Repeat([]byte{9}, 32)

	if _, ok := c.sign(t, ed, proveData(hostkeysProveLabel, sid, ed), 0); ok {
		t.Fatal("hostkeys-prove signed before any key exchange")
	}
	c.sign(t, ed, sid, 0)
	if _, ok := c.sign(t, ed, proveData(hostkeysProveLabel, bytes.Repeat([]byte{8}, 32), ed), 0); ok {
		t.Fatal("hostkeys-prove signed for another session ID")
	}
	if _, ok := c.sign(t, ed, proveData(hostkeysProveLabel, sid, rsaKey), 0); ok {
		t.Fatal("hostkeys-prove signed for a key other than the signing key")
	}
	if _, ok := c.sign(t, rsaKey, proveData(hostkeysProveLabel, sid, rsaKey), agentRSASHA512); !ok {
		t.Fatal("valid hostkeys-prove refused")
	}
}

func TestAgentRefusals(t *testing.T) {
	c := newAgentClient(t)
	other := &KeyRing{}
	unknown, _ := other.GenerateKey("ed25519")

	if _, ok := c.sign(t, unknown.Marshal(), make([]byte, 32), 0); ok {
		t.Fatal("signed with a key the agent does not hold")
	}
	if _, ok := c.sign(t, c.keys.PublicKeys()[0].Marshal(), []byte("not a hash"), 0); ok {
		t.Fatal("signed arbitrary data")
	}
	// SSH_AGENTC_ADD_IDENTITY (17), SSH_AGENTC_REMOVE_ALL_IDENTITIES (19),
	// SSH_AGENTC_LOCK (22), SSH_AGENTC_EXTENSION (27).
	for _, typ := range []byte{17, 19, 22, 27} {
		if got, _ := c.request(t, typ, nil); got != agentFailure {
			t.Fatalf("request type %d answered with %d, want SSH_AGENT_FAILURE", typ, got)
		}
	}
	if c.sess.Len() != 0 {
		t.Fatalf("refused requests created %d sessions", c.sess.Len())
	}
}
