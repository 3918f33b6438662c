package rasshd

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/rassh/rassh/client/raproto"
	"github.com/rassh/rassh/verifier/binding"
)

// Server answers ra-ssh requests on the agent's ra-ssh socket: one request
// frame and one response frame per connection (PROTOCOL.ra-ssh).
type Server struct {
	// Sessions are the session IDs the HostKeyAgent signed. Nil means the
	// agent is not sshd's HostKeyAgent: answers then carry session_bound
	// false and any session ID is accepted.
	Sessions *Sessions
	// HostKeys are the host keys served, SSH wire form. Without Sessions a
	// request must name one of them.
	HostKeys [][]byte
	Fresh    *Fresh // nil: fresh mode unavailable
	Epoch    *Epoch // nil: epoch mode unavailable
	// MaxConns bounds connections served at once; further ones are closed
	// without an answer. 0: 64.
	MaxConns int
	// MaxConnsPerUser bounds the connections of one peer user ID served at
	// once, so that one user's idle connections cannot take every slot from
	// the others. 0: a quarter of MaxConns, at least 1.
	MaxConnsPerUser int
	// ReadTimeout bounds the wait for the request frame; 0: 10 seconds.
	ReadTimeout time.Duration
	// RequestTimeout bounds the work for one answer, including a fresh
	// quote and the token round trip; 0: 30 seconds.
	RequestTimeout time.Duration
	Logger         *slog.Logger // nil: slog.Default()
}

// Serve accepts connections on l until l is closed, then returns nil.
func (s *Server) Serve(l *net.UnixListener) error {
	limits := newConnLimits(s.MaxConns, s.MaxConnsPerUser)
	for {
		c, err := l.AcceptUnix()
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			s.logger().Error("ra-ssh: accept failed", "err", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		cred, err := peerCredentials(c)
		if err != nil {
			s.logger().Error("ra-ssh: rejected connection", "err", err)
			c.Close()
			continue
		}
		if reason := limits.acquire(cred.Uid); reason != "" {
			s.logger().Warn("ra-ssh: "+reason+", closing one", "uid", cred.Uid, "pid", cred.Pid,
				"max", limits.total, "max_per_user", limits.perUser)
			c.Close()
			continue
		}
		go func() {
			defer limits.release(cred.Uid)
			s.serveConn(c, int(cred.Pid))
		}()
	}
}

func (s *Server) serveConn(c *net.UnixConn, peerPID int) {
	defer c.Close()
	start := time.Now()

	c.SetReadDeadline(start.Add(durationOr(s.ReadTimeout, 10*time.Second)))
	var req raproto.Request
	var resp *raproto.Response
	if err := raproto.ReadFrame(c, &req); err != nil {
		resp = raproto.Failure(raproto.CodeBadRequest, "invalid request frame: "+err.Error())
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), durationOr(s.RequestTimeout, 30*time.Second))
		resp = s.Answer(ctx, &req, peerPID)
		cancel()
	}

	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	err := raproto.WriteFrame(c, resp)
	s.logger().Info("ra-ssh request", "peer_pid", peerPID, "mode", req.Mode, "session", shortID(req.SessionID),
		"status", resp.Status, "code", resp.Code, "session_bound", resp.SessionBound,
		"duration_ms", time.Since(start).Milliseconds(), "write_err", err)
}

// Answer checks req against the recorded sessions and answers it in the
// requested mode. peerPID is the process on the other end of the ra-ssh
// connection, or 0 when unknown.
func (s *Server) Answer(ctx context.Context, req *raproto.Request, peerPID int) *raproto.Response {
	if err := req.Check(); err != nil {
		return raproto.Failure(raproto.CodeBadRequest, err.Error())
	}
	bound, failure := s.checkSession(req, peerPID)
	if failure != nil {
		return failure
	}

	v := binding.Connect(req.Nonce, req.SessionID, req.HostKey)
	resp := &raproto.Response{Version: raproto.ProtocolVersion, Status: raproto.StatusOK, Mode: req.Mode, SessionBound: bound}
	switch {
	case req.Mode == raproto.ModeFresh && s.Fresh != nil:
		token, err := s.Fresh.Token(ctx, v)
		var busy *BusyError
		if errors.As(err, &busy) {
			return raproto.Busy(int(busy.RetryAfter.Milliseconds()))
		}
		if err != nil {
			s.logger().Error("ra-ssh: fresh attestation failed", "err", err)
			return raproto.Failure(raproto.CodeAttestation, "fresh attestation failed")
		}
		resp.Token = token
	case req.Mode == raproto.ModeEpoch && s.Epoch != nil:
		epoch, token, err := s.Epoch.answer(v)
		if err != nil {
			s.logger().Error("ra-ssh: epoch attestation failed", "err", err)
			return raproto.Failure(raproto.CodeAttestation, "epoch attestation unavailable")
		}
		resp.Epoch, resp.Token = epoch, token
	default:
		return raproto.Failure(raproto.CodeModeDisabled, "mode "+req.Mode+" is not served by this agent")
	}
	return resp
}

// checkSession decides whether the agent may answer for req's session ID,
// and whether the answer is session-bound.
func (s *Server) checkSession(req *raproto.Request, peerPID int) (bool, *raproto.Response) {
	if s.Sessions == nil {
		if !containsBlob(s.HostKeys, req.HostKey) {
			return false, raproto.Failure(raproto.CodeWrongHostKey, "host key is not served by this agent")
		}
		return false, nil
	}

	sess, ok := s.Sessions.Lookup(req.SessionID)
	if !ok {
		return false, raproto.Failure(raproto.CodeUnknownSession, "session ID was not signed by this agent")
	}
	if !bytes.Equal(sess.HostKey, req.HostKey) {
		return false, raproto.Failure(raproto.CodeWrongHostKey, "host key did not sign this session")
	}
	if peerPID > 0 {
		owner, ids, found := s.Sessions.owner(ancestors(peerPID))
		if found && !containsBlob(ids, req.SessionID) {
			s.logger().Warn("ra-ssh: session ID of another connection", "peer_pid", peerPID, "sshd_pid", owner.PID,
				"session", shortID(req.SessionID))
			return false, raproto.Failure(raproto.CodeWrongSession, "session ID belongs to another SSH connection")
		}
	}
	return true, nil
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

func durationOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
