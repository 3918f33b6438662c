package client

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/rassh/rassh/client/raproto"
	"golang.org/x/crypto/ssh"
)

// maxBusyWait caps how long the client waits on a busy agent's retry_after_ms.
const maxBusyWait = 5 * time.Second

// Dialer opens SSH connections that are attested before they are used.
type Dialer struct {
	Hosts *HostChecker
	// Auth are the authentication methods. Callers pass public-key methods
	// only: nothing that asks for a password may run before the check.
	Auth []ssh.AuthMethod
	// Verifier checks ra-ssh responses. Nil means attestation is off, which is
	// refused for hosts whose certificate requires ra-ssh.
	Verifier *Verifier
	// Socket is the agent's ra-ssh socket on the host. Empty means
	// raproto.DefaultSocket.
	Socket string
	// AllowNoRASSH accepts hosts that offer no ra-ssh at all, unless their
	// certificate requires it.
	AllowNoRASSH bool
	// Timeout bounds the TCP connection, the SSH handshake and the check.
	// Zero means 30 seconds.
	Timeout time.Duration
	// HostKeyAlias, when set, is the host name used in place of the dialed
	// address for known_hosts, the certificate's principals and the issuers'
	// host patterns, as ssh's HostKeyAlias option. The port is then ignored
	// for those lookups.
	HostKeyAlias string
}

// Conn is an authenticated SSH connection whose check passed.
type Conn struct {
	*ssh.Client
	Host *HostIdentity
	// Attestation is the verified ra-ssh response, nil when the check was
	// skipped (mode off, or a host without ra-ssh that the configuration
	// allows).
	Attestation *Result
	// Via is the ra-ssh transport used, empty when skipped.
	Via string
	// Skipped is the reason the check was skipped, empty when it ran.
	Skipped string
}

// Dial connects to address ("host:port") as user, checks the host key,
// authenticates, and runs the ra-ssh check. On any failure it closes the
// connection and returns a *CheckError or a connection error.
func (d *Dialer) Dial(ctx context.Context, user, address string) (*Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout())
	defer cancel()

	// TCP, then the SSH handshake with the host key check.
	tcp, err := (&net.Dialer{}).DialContext(ctx, "tcp", address)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", address, err)
	}
	tcp = withQuickAck(tcp)
	stop := context.AfterFunc(ctx, func() { tcp.Close() })
	name := d.checkedName(address)
	var id *HostIdentity
	config := &ssh.ClientConfig{
		User: user,
		Auth: d.Auth,
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			checked, err := d.Hosts.Check(name, key)
			id = checked
			return err
		},
	}
	sshConn, chans, reqs, err := ssh.NewClientConn(tcp, address, config)
	if err != nil {
		stop()
		tcp.Close()
		return nil, handshakeErr(address, id, err)
	}
	client := ssh.NewClient(sshConn, chans, reqs)

	// The ra-ssh check, before anything else uses the connection.
	conn, err := d.attest(ctx, client, name, id)
	stop()
	if err != nil {
		client.Close()
		return nil, err
	}
	return conn, nil
}

// checkedName returns the "host:port" name whose host the checks use: the
// dialed address, or HostKeyAlias with port 22 so that known_hosts matches it
// without brackets.
func (d *Dialer) checkedName(address string) string {
	if d.HostKeyAlias == "" {
		return address
	}
	return net.JoinHostPort(d.HostKeyAlias, "22")
}

func (d *Dialer) timeout() time.Duration {
	if d.Timeout <= 0 {
		return 30 * time.Second
	}
	return d.Timeout
}

func (d *Dialer) socket() string {
	if d.Socket == "" {
		return raproto.DefaultSocket
	}
	return d.Socket
}

// handshakeErr returns the host key check's own error when it caused the
// handshake to fail.
func handshakeErr(address string, id *HostIdentity, err error) error {
	var ce *CheckError
	if errors.As(err, &ce) {
		return ce
	}
	if id != nil && strings.Contains(err.Error(), "unable to authenticate") {
		return fmt.Errorf("authenticate to %s: %w (rassh offers public keys only: check ssh-agent and -i)", address, err)
	}
	return fmt.Errorf("ssh handshake with %s: %w", address, err)
}

// attest runs the ra-ssh check on an authenticated connection.
func (d *Dialer) attest(ctx context.Context, client *ssh.Client, address string, id *HostIdentity) (*Conn, error) {
	host := hostOnly(address)
	conn := &Conn{Client: client, Host: id}
	if d.Verifier == nil {
		if id.RequiresRASSH() {
			return nil, checkErr(host, "ra-ssh", ErrRASSHRequired, "attestation mode off is not allowed for this host; use mode epoch or fresh", "")
		}
		conn.Skipped = "attestation mode off"
		return conn, nil
	}

	req, err := newRequest(d.Verifier.Policy.Mode, client.SessionID(), id.Key.Marshal())
	if err != nil {
		return nil, err
	}
	resp, via, err := d.exchangeWithRetry(ctx, client, host, req)
	switch {
	case errors.Is(err, ErrNoRASSH) && id.RequiresRASSH():
		return nil, checkErr(host, "ra-ssh", ErrRASSHRequired,
			"the host certificate requires ra-ssh, so allow_no_ra_ssh does not apply; check rassh-agent on the host", "%v", err)
	case errors.Is(err, ErrNoRASSH) && d.AllowNoRASSH:
		conn.Skipped = "host does not offer ra-ssh (allowed by allow_no_ra_ssh)"
		return conn, nil
	case err != nil:
		return nil, err
	}

	res, err := d.Verifier.Verify(ctx, host, req, resp)
	if err != nil {
		return nil, err
	}
	res.Host = host
	conn.Attestation = res
	conn.Via = via
	return conn, nil
}

// exchangeWithRetry retries once, on a new channel, when the agent is busy.
func (d *Dialer) exchangeWithRetry(ctx context.Context, client *ssh.Client, host string, req *raproto.Request) (*raproto.Response, string, error) {
	resp, via, err := exchange(ctx, client, host, d.socket(), req)
	if err != nil || resp.Status != raproto.StatusBusy {
		return resp, via, err
	}
	wait := min(time.Duration(resp.RetryAfterMS)*time.Millisecond, maxBusyWait)
	select {
	case <-time.After(wait):
	case <-ctx.Done():
		return resp, via, nil
	}
	return exchange(ctx, client, host, d.socket(), req)
}

func newRequest(mode string, sessionID, hostKey []byte) (*raproto.Request, error) {
	req := &raproto.Request{Version: raproto.ProtocolVersion, Mode: mode, Nonce: make([]byte, raproto.NonceSize),
		SessionID: sessionID, HostKey: hostKey}
	if _, err := rand.Read(req.Nonce); err != nil {
		return nil, fmt.Errorf("ra-ssh: read nonce: %w", err)
	}
	if err := req.Check(); err != nil {
		return nil, err
	}
	return req, nil
}

// hostOnly returns the lower-case host of a "host:port" address.
func hostOnly(address string) string {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		host = address
	}
	return strings.ToLower(host)
}
