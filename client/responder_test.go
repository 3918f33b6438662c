package client_test

import (
	"strings"
	"testing"

	"github.com/rassh/rassh/client"
	"github.com/rassh/rassh/client/raproto"
	"github.com/rassh/rassh/client/sshdtest"
)

// A subsystem whose responder is not installed sends no response: the error
// names the exit status, 127 from the login shell, so the user can tell a
// missing responder from a silent agent.
func TestDialBrokenResponderStatus(t *testing.T) {
	e := newEnv(t, raproto.ModeEpoch, sshdtest.Options{NoStreamLocal: true, SubsystemCommand: "/nonexistent/rassh-agent respond"})
	_, err := e.dial(t)
	assertErr(t, err, client.ErrAgentUnreachable, "responder exited with status 127")
	if strings.Contains(err.Error(), "session not started") {
		t.Errorf("error %q reports an internal session state", err)
	}
}
