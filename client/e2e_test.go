package client_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rassh/rassh/client"
	"github.com/rassh/rassh/client/raproto"
	"github.com/rassh/rassh/client/sshdtest"
	"github.com/rassh/rassh/verifier/token"
	"golang.org/x/crypto/ssh"
)

func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == sshdtest.ResponderArg {
		sshdtest.RunResponder()
	}
	os.Exit(m.Run())
}

// env is one client against one real sshd with the real agent.
type env struct {
	host   *sshdtest.Host
	issuer *sshdtest.Issuer
	dialer *client.Dialer
}

func newEnv(t *testing.T, mode string, opts sshdtest.Options) *env {
	t.Helper()
	e := &env{issuer: sshdtest.NewIssuer(t)}
	if opts.Attester == nil {
		opts.Attester = e.issuer
	}
	e.host = sshdtest.Start(t, opts)
	e.dialer = newDialer(t, e.host, mode, e.issuer.Config(e.host.Name))
	return e
}

func newDialer(t *testing.T, h *sshdtest.Host, mode string, issuers ...token.IssuerConfig) *client.Dialer {
	t.Helper()
	kh, err := client.ParseKnownHosts([]byte(h.KnownHostsLine()))
	if err != nil {
		t.Fatal(err)
	}
	d := &client.Dialer{
		Hosts:   &client.HostChecker{KnownHosts: kh},
		Auth:    []ssh.AuthMethod{ssh.PublicKeys(h.ClientKey)},
		Socket:  h.RASocket,
		Timeout: 20 * time.Second,
	}
	if mode != client.ModeOff {
		d.Verifier = &client.Verifier{
			Tokens: &token.Verifier{Issuers: issuers},
			Claims: client.DefaultClaimsPolicy{AllowSimulated: true},
			Policy: client.Policy{Mode: mode},
		}
	}
	return d
}

func (e *env) dial(t *testing.T) (*client.Conn, error) {
	t.Helper()
	conn, err := e.dialer.Dial(context.Background(), "root", e.host.Addr)
	if err == nil {
		t.Cleanup(func() { conn.Close() })
	}
	return conn, err
}

func runCommand(t *testing.T, conn *client.Conn, cmd string) string {
	t.Helper()
	sess, err := conn.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	out, err := sess.CombinedOutput(cmd)
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	return string(out)
}

func TestDialEpochStreamLocal(t *testing.T) {
	e := newEnv(t, raproto.ModeEpoch, sshdtest.Options{RequireRASSH: true})
	conn, err := e.dial(t)
	if err != nil {
		t.Fatal(err)
	}
	res := conn.Attestation
	if res == nil || res.Mode != raproto.ModeEpoch || !res.SessionBound || conn.Via != client.ViaStreamLocal {
		t.Fatalf("attestation %+v via %q, expected session-bound epoch over streamlocal", res, conn.Via)
	}
	if !res.Claims.Simulated || res.Claims.Issuer != e.issuer.URL {
		t.Errorf("claims simulated %v issuer %q", res.Claims.Simulated, res.Claims.Issuer)
	}
	if conn.Host.Cert == nil || !conn.Host.RequiresRASSH() {
		t.Error("host certificate or its extension missing from the identity")
	}
	if got := runCommand(t, conn, "echo attested"); got != "attested\n" {
		t.Errorf("command output %q", got)
	}
}

func TestDialFreshSubsystem(t *testing.T) {
	e := newEnv(t, raproto.ModeFresh, sshdtest.Options{NoStreamLocal: true})
	before := e.issuer.Calls()
	conn, err := e.dial(t)
	if err != nil {
		t.Fatal(err)
	}
	if conn.Via != client.ViaSubsystem || conn.Attestation.Mode != raproto.ModeFresh || !conn.Attestation.SessionBound {
		t.Fatalf("via %q attestation %+v, expected session-bound fresh over the subsystem", conn.Via, conn.Attestation)
	}
	if e.issuer.Calls() != before+1 {
		t.Errorf("issuer called %d times, expected one fresh quote", e.issuer.Calls()-before)
	}
}

func TestDialStockSSHD(t *testing.T) {
	e := newEnv(t, raproto.ModeEpoch, sshdtest.Options{NoAgent: true})
	_, err := e.dial(t)
	assertErr(t, err, client.ErrNoRASSH, "host does not offer ra-ssh")

	e.dialer.AllowNoRASSH = true
	conn, err := e.dial(t)
	if err != nil {
		t.Fatalf("allow_no_ra_ssh: %v", err)
	}
	if conn.Attestation != nil || !strings.Contains(conn.Skipped, "does not offer ra-ssh") {
		t.Errorf("attestation %+v skipped %q", conn.Attestation, conn.Skipped)
	}
}

func TestDialStockSSHDRequiredByCertificate(t *testing.T) {
	e := newEnv(t, raproto.ModeEpoch, sshdtest.Options{NoAgent: true, RequireRASSH: true})
	e.dialer.AllowNoRASSH = true
	_, err := e.dial(t)
	assertErr(t, err, client.ErrRASSHRequired, "allow_no_ra_ssh does not apply")

	e.dialer.Verifier = nil // mode off
	_, err = e.dial(t)
	assertErr(t, err, client.ErrRASSHRequired, "mode off is not allowed")
}

func TestDialAgentDown(t *testing.T) {
	e := newEnv(t, raproto.ModeEpoch, sshdtest.Options{NoHostKeyAgent: true})
	e.dialer.Verifier.Policy.AllowUnbound = true
	e.host.StopAgent()
	_, err := e.dial(t)
	assertErr(t, err, client.ErrAgentUnreachable, "rassh-agent is not running")
	if !client.IsUndecided(err) {
		t.Error("agent down is not classed as undecided")
	}
}

func TestDialHostKeyAgentDown(t *testing.T) {
	e := newEnv(t, raproto.ModeEpoch, sshdtest.Options{})
	e.host.StopAgent()
	_, err := e.dial(t)
	if err == nil || !strings.Contains(err.Error(), "ssh handshake with "+e.host.Addr) {
		t.Fatalf("error %v, expected a failed handshake", err)
	}
}

func TestDialNotSessionBound(t *testing.T) {
	e := newEnv(t, raproto.ModeEpoch, sshdtest.Options{NoHostKeyAgent: true})
	_, err := e.dial(t)
	assertErr(t, err, client.ErrNotSessionBound, "HostKeyAgent")

	e.dialer.Verifier.Policy.AllowUnbound = true
	conn, err := e.dial(t)
	if err != nil {
		t.Fatalf("allow_unbound: %v", err)
	}
	if conn.Attestation.SessionBound {
		t.Error("attestation says session-bound")
	}
}

func TestDialUntrustedIssuer(t *testing.T) {
	e := newEnv(t, raproto.ModeEpoch, sshdtest.Options{})
	other := sshdtest.NewIssuer(t)
	e.dialer = newDialer(t, e.host, raproto.ModeEpoch, other.Config(e.host.Name))
	_, err := e.dial(t)
	assertErr(t, err, client.ErrToken, "is not trusted")
}

func TestDialIssuerNotScopedToHost(t *testing.T) {
	e := newEnv(t, raproto.ModeEpoch, sshdtest.Options{})
	e.dialer = newDialer(t, e.host, raproto.ModeEpoch, e.issuer.Config("*.fleet.test"))
	_, err := e.dial(t)
	assertErr(t, err, client.ErrToken, "may not vouch for host")
}

func TestDialStaleToken(t *testing.T) {
	issuer := sshdtest.NewIssuer(t)
	issuer.IssuedAt = func() time.Time { return time.Now().Add(-20 * time.Minute) }
	e := newEnv(t, raproto.ModeEpoch, sshdtest.Options{Attester: issuer})
	e.issuer = issuer
	e.dialer = newDialer(t, e.host, raproto.ModeEpoch, issuer.Config(e.host.Name))
	_, err := e.dial(t)
	assertErr(t, err, client.ErrStaleToken, "token age")
}

func assertErr(t *testing.T, err, sentinel error, text string) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("error %v, expected %v", err, sentinel)
	}
	if !strings.Contains(err.Error(), text) {
		t.Errorf("error %q does not mention %q", err, text)
	}
}
