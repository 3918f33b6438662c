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

	sess, err := conn.NewSession()
	if err != nil {
		return nil, "", checkErr(host, "transport", ErrAgentUnreachable, "", "open session channel: %v", err)
	}
	defer sess.Close()
	stdin, err1 := sess.StdinPipe()
	stdout, err2 := sess.StdoutPipe()
	if err := errors.Join(err1, err2); err != nil {
		return nil, "", checkErr(host, "transport", ErrAgentUnreachable, "", "%v", err)
	}
	stderr := &boundedBuffer{limit: maxResponderStderr}
	sess.Stderr = stderr
	if err := sess.RequestSubsystem(raproto.SubsystemName); err != nil {
		return nil, "", checkErr(host, "transport", ErrNoRASSH,
			"install rassh-agent on the host, or set allow_no_ra_ssh for this host to connect without the check",
			"agent socket %s: %v; subsystem %s: %v", socket, streamErr, raproto.SubsystemName, err)
	}
	resp, err := roundTrip(ctx, req, stdout, stdin, sess)
	if err != nil {
		// The responder's exit status and standard error say why it did
		// not response; both arrive after its standard output ends.
		waitErr := waitSession(sess, responderWait)
		return nil, ViaSubsystem, transportErr(host, ViaSubsystem, errors.Join(err, waitErr), stderr.String())
	}
	return resp, ViaSubsystem, nil
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

// responderWait bounds the wait for the responder's exit after a failure.
const responderWait = time.Second

func waitSession(sess *ssh.Session, timeout time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("responder: %w", err)
		}
		return nil
	case <-time.After(timeout):
		return nil
	}
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
