package rasshd

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"golang.org/x/crypto/ssh"
)

// HostKeyAgent serves the part of the ssh-agent protocol that sshd's
// HostKeyAgent option uses: listing identities and signing. It signs only
// exchange hashes and hostkeys-prove requests, and records the first exchange
// hash of every agent connection as that SSH connection's session ID.
type HostKeyAgent struct {
	Keys     *KeyRing
	Sessions *Sessions
	// AllowedUID is the only peer user ID served. It is 0 (root, which sshd
	// runs as) in production; tests that run unprivileged set their own.
	AllowedUID uint32
	Logger     *slog.Logger     // nil: slog.Default()
	Now        func() time.Time // nil: time.Now
}

// Serve accepts agent connections on l until l is closed, then returns nil.
func (a *HostKeyAgent) Serve(l *net.UnixListener) error {
	for {
		c, err := l.AcceptUnix()
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			a.logger().Error("hostkey agent: accept failed", "err", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		go a.serveConn(c)
	}
}

// agentConn is one agent connection, normally from one sshd per-connection
// privileged process for the lifetime of one SSH connection.
type agentConn struct {
	agent   *HostKeyAgent
	conn    *net.UnixConn
	sshd    process
	session *Session
}

func (a *HostKeyAgent) serveConn(c *net.UnixConn) {
	defer c.Close()
	log := a.logger()

	// Authorize the peer before reading a byte from it.
	cred, err := peerCredentials(c)
	if err != nil {
		log.Error("hostkey agent: rejected connection", "err", err)
		return
	}
	if cred.Uid != a.AllowedUID {
		log.Warn("hostkey agent: rejected connection from unauthorized user", "uid", cred.Uid, "pid", cred.Pid, "allowed_uid", a.AllowedUID)
		rejectPeer(c)
		return
	}
	sshd, err := identifyProcess(int(cred.Pid))
	if err != nil {
		log.Error("hostkey agent: rejected connection", "pid", cred.Pid, "err", err)
		return
	}

	ac := &agentConn{agent: a, conn: c, sshd: sshd}
	defer ac.close()
	for {
		typ, body, err := readAgentMessage(c)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				log.Warn("hostkey agent: connection closed", "pid", sshd.PID, "err", err)
			}
			return
		}
		if err := ac.handle(typ, body); err != nil {
			log.Warn("hostkey agent: write failed", "pid", sshd.PID, "err", err)
			return
		}
	}
}

// rejectPeer answers the first request of an unauthorized peer with
// SSH_AGENT_FAILURE, so its tool reports a refusal rather than a broken pipe,
// and then closes the connection.
func rejectPeer(c *net.UnixConn) {
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, _, err := readAgentMessage(c); err == nil {
		writeAgentMessage(c, agentFailure, nil)
	}
}

func (ac *agentConn) handle(typ byte, body []byte) error {
	switch typ {
	case agentRequestIdentites:
		return writeAgentMessage(ac.conn, agentIdentitiesAnswer, ac.identities())
	case agentSignRequest:
		sig, err := ac.sign(body)
		if err != nil {
			ac.agent.logger().Warn("hostkey agent: sign request rejected", "pid", ac.sshd.PID, "err", err)
			return writeAgentMessage(ac.conn, agentFailure, nil)
		}
		return writeAgentMessage(ac.conn, agentSignResponse, appendString(nil, sig))
	default:
		ac.agent.logger().Warn("hostkey agent: unsupported request", "pid", ac.sshd.PID, "type", typ)
		return writeAgentMessage(ac.conn, agentFailure, nil)
	}
}

func (ac *agentConn) identities() []byte {
	blobs := ac.agent.Keys.Blobs()
	out := binary.BigEndian.AppendUint32(nil, uint32(len(blobs)))
	for _, b := range blobs {
		out = appendString(out, b)
		out = appendString(out, []byte("rassh host key"))
	}
	return out
}

// sign checks what it is asked to sign, signs it, and records the session ID
// when this is the connection's first exchange hash.
func (ac *agentConn) sign(body []byte) ([]byte, error) {
	req, err := parseSignRequest(body)
	if err != nil {
		return nil, err
	}
	kind, prove, err := classifySignData(req.Data)
	if err != nil {
		return nil, err
	}
	if kind == signHostkeysProve {
		if err := ac.checkProve(prove, req.KeyBlob); err != nil {
			return nil, err
		}
	}

	sig, err := ac.agent.Keys.sign(req.KeyBlob, req.Data, req.Flags)
	if err != nil {
		return nil, err
	}
	if kind == signExchangeHash {
		ac.recordExchangeHash(req.Data, req.KeyBlob)
	} else {
		ac.agent.logger().Info("hostkey agent: hostkeys-prove signed", "pid", ac.sshd.PID, "session", shortID(prove.SessionID))
	}
	return ssh.Marshal(sig), nil
}

// checkProve accepts a hostkeys-prove request only for this connection's
// session ID and for the key that signs it, as sshd builds it.
func (ac *agentConn) checkProve(p *hostkeysProve, keyBlob []byte) error {
	if ac.session == nil {
		return fmt.Errorf("refusing hostkeys-prove request before any key exchange on this connection")
	}
	if !bytes.Equal(p.SessionID, ac.session.ID) {
		return fmt.Errorf("refusing hostkeys-prove request for session %s on the connection of session %s",
			shortID(p.SessionID), shortID(ac.session.ID))
	}
	if !bytes.Equal(p.HostKey, keyBlob) {
		return fmt.Errorf("refusing hostkeys-prove request that names another key than the signing key")
	}
	return nil
}

func (ac *agentConn) recordExchangeHash(h, keyBlob []byte) {
	log := ac.agent.logger()
	if ac.session != nil {
		ac.agent.Sessions.rekeyed(ac.session)
		log.Info("hostkey agent: rekey signed", "pid", ac.sshd.PID, "session", shortID(ac.session.ID))
		return
	}
	ac.session = &Session{
		ID:      bytes.Clone(h),
		HostKey: bytes.Clone(keyBlob),
		SSHD:    ac.sshd,
		Started: ac.agent.now(),
	}
	ac.agent.Sessions.add(ac.session)
	log.Info("hostkey agent: session started", "pid", ac.sshd.PID, "session", shortID(h))
}

func (ac *agentConn) close() {
	if ac.session == nil {
		return
	}
	ac.agent.Sessions.remove(ac.session)
	ac.agent.logger().Info("hostkey agent: session ended", "pid", ac.sshd.PID, "session", shortID(ac.session.ID),
		"rekeys", ac.session.Rekeys)
}

func (a *HostKeyAgent) logger() *slog.Logger {
	if a.Logger == nil {
		return slog.Default()
	}
	return a.Logger
}

func (a *HostKeyAgent) now() time.Time {
	if a.Now == nil {
		return time.Now()
	}
	return a.Now()
}

// shortID renders the first 8 bytes of a session ID for logs.
func shortID(id []byte) string {
	return hex.EncodeToString(id[:min(len(id), 8)])
}
