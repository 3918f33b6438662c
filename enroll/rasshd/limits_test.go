package rasshd

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/rassh/rassh/client/raproto"
)

// One local user who holds idle connections to the world-connectable ra-ssh
// socket must not keep the agent from serving another user's session.
func TestOneUserCannotTakeAllSlots(t *testing.T) {
	e := newHostEnv(t)
	const total, perUser = 64, 16 // the defaults of Server

	// The test process (root) takes every slot, and sends nothing.
	idle := make([]net.Conn, total)
	for i := range idle {
		c, err := net.Dial("unix", e.raSock)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle[i] = c
	}

	client, hostKey := e.dialAs(t, "nobody", 0)
	resp := e.askStreamLocal(t, client, newRequest(t, raproto.ModeEpoch, client.SessionID(), hostKey))
	if resp.Status != raproto.StatusOK || !resp.SessionBound {
		t.Fatalf("nobody's session: status %q code %q bound %v, want ok and session-bound", resp.Status, resp.Code, resp.SessionBound)
	}

	// The agent kept perUser of root's connections and closed the rest.
	open := 0
	for _, c := range idle {
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		_, err := c.Read(make([]byte, 1))
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			open++
		case errors.Is(err, io.EOF):
		default:
			t.Fatalf("read idle connection: %v, want a timeout or EOF", err)
		}
	}
	if open != perUser {
		t.Fatalf("%d idle connections of one user kept open, want %d", open, perUser)
	}
}
