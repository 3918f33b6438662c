package rasshd

import (
	"fmt"
	"io"
	"net"
	"time"

	"github.com/rassh/rassh/client/raproto"
)

// Relay timeouts: connecting to the agent, and the whole exchange, which in
// fresh mode includes a quote and a round trip to the token service.
const (
	relayDialTimeout   = 5 * time.Second
	relayAnswerTimeout = 60 * time.Second
)

// Relay forwards one request frame from in to the agent's ra-ssh socket and
// one response frame from the agent to out. It is the subsystem responder
// that sshd runs. When the request is malformed or the agent is unreachable
// it writes an error response to out itself, so the client learns why, and
// returns the error.
func Relay(in io.Reader, out io.Writer, socket string) error {
	request, err := raproto.ReadRawFrame(in)
	if err != nil {
		raproto.WriteFrame(out, raproto.Failure(raproto.CodeBadRequest, "responder: invalid request frame: "+err.Error()))
		return fmt.Errorf("respond: %w", err)
	}

	conn, err := net.DialTimeout("unix", socket, relayDialTimeout)
	if err != nil {
		raproto.WriteFrame(out, raproto.Failure(raproto.CodeAgentDown, "responder: rassh-agent is not running on this host"))
		return fmt.Errorf("respond: connect to agent: %w", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(relayAnswerTimeout))

	frame, err := raproto.AppendFrame(nil, request)
	if err != nil {
		return fmt.Errorf("respond: %w", err)
	}
	if _, err := conn.Write(frame); err != nil {
		raproto.WriteFrame(out, raproto.Failure(raproto.CodeAgentDown, "responder: rassh-agent closed the connection"))
		return fmt.Errorf("respond: send to agent: %w", err)
	}
	answer, err := raproto.ReadRawFrame(conn)
	if err != nil {
		raproto.WriteFrame(out, raproto.Failure(raproto.CodeAgentDown, "responder: no answer from rassh-agent"))
		return fmt.Errorf("respond: read agent response: %w", err)
	}

	if frame, err = raproto.AppendFrame(nil, answer); err != nil {
		return fmt.Errorf("respond: %w", err)
	}
	if _, err := out.Write(frame); err != nil {
		return fmt.Errorf("respond: write response: %w", err)
	}
	return nil
}
