package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/rassh/rassh/client/raproto"
	"golang.org/x/crypto/ssh"
)

// Transports, as Result.Via and error messages name them.
const (
	ViaStreamLocal = "direct-streamlocal"
	ViaSubsystem   = "subsystem"
)

// maxResponderStderr bounds what the client keeps of the responder's
// standard error for error messages.
const maxResponderStderr = 1 << 10

// exchange sends req to the host's agent and returns its response: first over
// a direct-streamlocal@openssh.com channel to socket, then, if sshd refused
// that channel, through the ra-ssh@rassh subsystem. It returns ErrNoRASSH
// when sshd accepts neither.
func exchange(ctx context.Context, conn *ssh.Client, host, socket string, req *raproto.Request) (*raproto.Response, string, error) {
	ch, streamErr := conn.Dial("unix", socket)
	if streamErr == nil {
		defer ch.Close()
		resp, err := roundTrip(ctx, req, ch, ch, nil)
		if err != nil {
			return nil, ViaStreamLocal, transportErr(host, ViaStreamLocal, err, "")
		}
		return resp, ViaStreamLocal, nil
	}

	// x/crypto's ssh.Session reports an exit status only for a command it
	// started itself, so the subsystem runs on a plain session channel.
	sess, requests, err := conn.OpenChannel("session", nil)
	if err != nil {
		return nil, "", checkErr(host, "transport", ErrAgentUnreachable, "", "open session channel: %v", err)
	}
	defer sess.Close()
	exit := make(chan string, 1)
	go watchExit(requests, exit)
	if err := requestSubsystem(sess); err != nil {
		return nil, "", checkErr(host, "transport", ErrNoRASSH,
			"install rassh-agent on the host, or set allow_no_ra_ssh for this host to connect without the check",
			"agent socket %s: %v; subsystem %s: %v", socket, streamErr, raproto.SubsystemName, err)
	}
	stderr := &boundedBuffer{limit: maxResponderStderr}
	go io.Copy(stderr, sess.Stderr())
	resp, err := roundTrip(ctx, req, sess, sess, nil)
	if err != nil {
		// The responder's exit status explains why it sent no response; it
		// arrives after its standard output ends.
		if status := waitExit(exit, responderWait); status != "" {
			err = fmt.Errorf("%w; %s", err, status)
		}
		return nil, ViaSubsystem, transportErr(host, ViaSubsystem, err, stderr.String())
	}
	return resp, ViaSubsystem, nil
}

func requestSubsystem(ch ssh.Channel) error {
	ok, err := ch.SendRequest("subsystem", true, ssh.Marshal(struct{ Name string }{raproto.SubsystemName}))
	if err == nil && !ok {
		err = errors.New("ssh: subsystem request failed")
	}
	return err
}

// watchExit sends a description of the first exit-status or exit-signal
// request (RFC 4254, section 6.10) to exit, and rejects other requests.
func watchExit(requests <-chan *ssh.Request, exit chan<- string) {
	for r := range requests {
		var status struct{ Status uint32 }
		var signal struct {
			Signal     string
			CoreDumped bool
			Message    string
			Language   string
		}
		switch {
		case r.Type == "exit-status" && ssh.Unmarshal(r.Payload, &status) == nil:
			trySend(exit, fmt.Sprintf("responder exited with status %d", status.Status))
		case r.Type == "exit-signal" && ssh.Unmarshal(r.Payload, &signal) == nil:
			trySend(exit, "responder killed by signal "+signal.Signal)
		}
		if r.WantReply {
			r.Reply(false, nil)
		}
	}
}

func trySend(c chan<- string, s string) {
	select {
	case c <- s:
	default:
	}
}

// responderWait bounds the wait for the responder's exit after a failure.
const responderWait = time.Second

// waitExit returns the responder's exit description, or "" when none came
// within timeout.
func waitExit(exit <-chan string, timeout time.Duration) string {
	select {
	case s := <-exit:
		return s
	case <-time.After(timeout):
		return ""
	}
}

// roundTrip writes one request frame and reads one response frame. closer
// is closed when ctx ends first, which unblocks the read.
func roundTrip(ctx context.Context, req *raproto.Request, r io.Reader, w io.WriteCloser, closer io.Closer) (*raproto.Response, error) {
	if closer == nil {
		closer = w
	}
	stop := context.AfterFunc(ctx, func() { closer.Close() })
	defer stop()

	if err := raproto.WriteFrame(w, req); err != nil {
		return nil, err
	}
	var resp raproto.Response
	err := raproto.ReadFrame(r, &resp)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("no response: %w", ctx.Err())
	}
	if err != nil {
		return nil, err
	}
	return &resp, nil
}

func transportErr(host, via string, err error, stderr string) error {
	detail := fmt.Sprintf("over %s: %v", via, err)
	if stderr != "" {
		detail += fmt.Sprintf("; responder stderr: %q", stderr)
	}
	if errors.Is(err, raproto.ErrForeignBytes) {
		return checkErr(host, "transport", ErrMalformedResponse,
			"the login shell printed output before the responder ran: make rc files silent for non-interactive shells", "%s", detail)
	}
	return checkErr(host, "transport", ErrAgentUnreachable,
		"check that rassh-agent is running on the host and that its ra-ssh socket is reachable", "%s", detail)
}

// boundedBuffer keeps the first limit bytes written to it and drops the rest.
type boundedBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	limit int
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.limit - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.TrimSpace(b.buf.String())
}
