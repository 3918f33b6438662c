// Package client is the client side of ra-ssh: it checks a host's SSH
// certificate against known_hosts and a KRL, asks the host's agent to attest
// the current connection, and verifies the response against this connection's
// nonce, session ID and host key before anything that matters is sent.
package client

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"time"

	"github.com/rassh/rassh/client/raproto"
	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/binding"
	"github.com/rassh/rassh/verifier/token"
	"golang.org/x/crypto/ssh"
)

// Defaults of Policy.
const (
	DefaultMaxTokenAge = 10 * time.Minute
	DefaultMaxEpoch    = 15 * time.Minute
)

// TokenVerifier checks an attestation token's signature, issuer, host scope
// and times, and returns its normalized claims. *token.Verifier implements it.
type TokenVerifier interface {
	Verify(ctx context.Context, raw string, host string) (*verifier.Claims, error)
}

// ClaimsPolicy checks attested claims against a policy. *policy.Policy
// implements it; DefaultClaimsPolicy is used when none is configured.
type ClaimsPolicy interface {
	Check(c *verifier.Claims, now time.Time) error
}

// Policy contains the client's requirements for an ra-ssh response.
type Policy struct {
	// Mode is raproto.ModeEpoch or raproto.ModeFresh. A fresh response is
	// accepted when epoch was requested, never the other way round.
	Mode string
	// MaxTokenAge bounds now minus the token's iat. Zero means DefaultMaxTokenAge.
	MaxTokenAge time.Duration
	// MaxEpoch caps an epoch's not-after at the token's iat plus MaxEpoch,
	// because the TD has no trusted clock. Zero means DefaultMaxEpoch.
	MaxEpoch time.Duration
	// AllowUnbound accepts responses from an agent that did not sign this
	// session ID itself (it is not sshd's HostKeyAgent).
	AllowUnbound bool
}

// Verifier verifies ra-ssh responses. It does no I/O of its own apart from what
// Tokens does, so it is testable without a network.
type Verifier struct {
	Tokens TokenVerifier
	// Claims is the attestation policy. Nil means DefaultClaimsPolicy{}.
	Claims ClaimsPolicy
	Policy Policy
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

// Result is a verified ra-ssh response.
type Result struct {
	Host         string
	Mode         string
	SessionBound bool
	Claims       *verifier.Claims
	// TokenAge is now minus the token's iat at verification time.
	TokenAge time.Duration
	// Binding is the binding value the token carries: binding.Connect in
	// fresh mode, binding.Epoch in epoch mode.
	Binding binding.Value
	// EpochNotAfter is the end of the epoch after the cap, zero in fresh mode.
	EpochNotAfter time.Time
	// EpochKey is K_att, nil in fresh mode.
	EpochKey ssh.PublicKey
}

// Verify checks resp, the agent's response to req, for host (the name the
// client dialed, which scopes the token's issuer). req must be the request
// the client sent: its nonce from crypto/rand, the session ID it computed,
// and the plain host key that signed the session.
func (v *Verifier) Verify(ctx context.Context, host string, req *raproto.Request, resp *raproto.Response) (*Result, error) {
	now := v.now()
	if err := checkStatus(host, req, resp); err != nil {
		return nil, err
	}
	if !resp.SessionBound && !v.Policy.AllowUnbound {
		return nil, checkErr(host, "session-bound", ErrNotSessionBound,
			"run rassh-agent as sshd's HostKeyAgent on the host, or set allow_unbound for this host", "")
	}

	// Authenticity and age of the token, then the attestation policy.
	claims, err := v.verifyToken(ctx, host, resp.Token, now)
	if err != nil {
		return nil, err
	}
	if err := v.claimsPolicy().Check(claims, now); err != nil {
		return nil, wrapCheckErr(host, "policy", ErrPolicy, "the host's TD does not meet the attestation policy", err)
	}

	res := &Result{Host: host, Mode: resp.Mode, SessionBound: resp.SessionBound, Claims: claims,
		TokenAge: now.Sub(claims.IssuedAt)}
	copy(res.Binding[:], claims.UserData)

	// The binding: this connection directly, or through the epoch key.
	if resp.Mode == raproto.ModeFresh {
		err = checkFreshBinding(host, req, claims)
	} else {
		err = v.checkEpoch(host, req, resp.Epoch, claims, now, res)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (v *Verifier) now() time.Time {
	if v.Now == nil {
		return time.Now()
	}
	return v.Now()
}

func (v *Verifier) claimsPolicy() ClaimsPolicy {
	if v.Claims == nil {
		return DefaultClaimsPolicy{}
	}
	return v.Claims
}

func (v *Verifier) maxTokenAge() time.Duration {
	if v.Policy.MaxTokenAge <= 0 {
		return DefaultMaxTokenAge
	}
	return v.Policy.MaxTokenAge
}

func (v *Verifier) maxEpoch() time.Duration {
	if v.Policy.MaxEpoch <= 0 {
		return DefaultMaxEpoch
	}
	return v.Policy.MaxEpoch
}

// checkStatus checks the envelope of the response: version, status and mode.
func checkStatus(host string, req *raproto.Request, resp *raproto.Response) error {
	if resp == nil || resp.Version != raproto.ProtocolVersion {
		return checkErr(host, "response", ErrMalformedResponse, "upgrade rassh-agent on the host or rassh here",
			"unsupported response version")
	}
	switch resp.Status {
	case raproto.StatusOK:
	case raproto.StatusBusy:
		return checkErr(host, "agent", ErrAgentBusy, "retry later", "retry after %d ms", resp.RetryAfterMS)
	case raproto.StatusError:
		if resp.Code == raproto.CodeAgentDown {
			return checkErr(host, "agent", ErrAgentUnreachable, "start rassh-agent on the host (systemctl status rassh-agent)",
				"%q", resp.Error)
		}
		return checkErr(host, "agent", ErrAgentFailure, agentFailureHint(resp.Code), "%s: %q", resp.Code, resp.Error)
	default:
		return checkErr(host, "response", ErrMalformedResponse, "", "unknown status %q", resp.Status)
	}

	switch {
	case resp.Mode == raproto.ModeFresh:
	case resp.Mode == raproto.ModeEpoch && req.Mode == raproto.ModeEpoch:
	default:
		return checkErr(host, "mode", ErrModeMismatch, "enable the requested mode in rassh-agent's configuration",
			"requested %q, got %q", req.Mode, resp.Mode)
	}
	if resp.Token == "" {
		return checkErr(host, "response", ErrMalformedResponse, "", "missing token")
	}
	return nil
}

func agentFailureHint(code string) string {
	switch code {
	case raproto.CodeUnknownSession, raproto.CodeWrongSession:
		return "the agent did not sign this session: is rassh-agent sshd's HostKeyAgent, and is the connection relayed?"
	case raproto.CodeWrongHostKey:
		return "the agent does not serve the host key that signed this session: a relay or a host key mismatch"
	case raproto.CodeModeDisabled:
		return "request another mode with -o mode=..., or enable it in rassh-agent's configuration"
	}
	return "check rassh-agent's log on the host"
}

// verifyToken checks the token with the configured issuers, then its age.
func (v *Verifier) verifyToken(ctx context.Context, host, raw string, now time.Time) (*verifier.Claims, error) {
	claims, err := v.Tokens.Verify(ctx, raw, host)
	if err != nil {
		var rejected *verifier.RejectedError
		if errors.As(err, &rejected) && rejected.Check == token.CheckAge {
			return nil, wrapCheckErr(host, "token-age", ErrStaleToken,
				"the agent must refresh its token within max_token_age; check rassh-agent and the host's clock", err)
		}
		if verifier.IsUndecided(err) {
			return nil, wrapCheckErr(host, "token", ErrTokenUndecided, "check that the issuer's key set URL is reachable", err)
		}
		return nil, wrapCheckErr(host, "token", ErrToken, "check the trusted issuers in rassh's configuration", err)
	}
	if claims.IssuedAt.IsZero() {
		return nil, checkErr(host, "token-age", ErrStaleToken, "", "token has no iat")
	}
	if age := now.Sub(claims.IssuedAt); age > v.maxTokenAge() {
		return nil, checkErr(host, "token-age", ErrStaleToken,
			"the agent must refresh its token within max_token_age; check rassh-agent and the host's clock",
			"issued at %s, %s ago, max %s", claims.IssuedAt.UTC().Format(time.RFC3339), age.Round(time.Second), v.maxTokenAge())
	}
	if len(claims.UserData) != binding.Size {
		return nil, checkErr(host, "binding", ErrBinding, "", "token user data has %d bytes, expected %d",
			len(claims.UserData), binding.Size)
	}
	return claims, nil
}

func checkFreshBinding(host string, req *raproto.Request, claims *verifier.Claims) error {
	want := binding.Connect(req.Nonce, req.SessionID, req.HostKey)
	if subtle.ConstantTimeCompare(want[:], claims.UserData) != 1 {
		return bindingErr(host, claims.UserData)
	}
	return nil
}

func bindingErr(host string, got []byte) error {
	return checkErr(host, "binding", ErrBinding,
		"the response was made for another nonce, session or host key: a replay, a relay from another host, or a host key mismatch",
		"token carries %x…", got[:8])
}

// checkEpoch checks an epoch-mode response. The token must bind K_att, the
// host keys and the not-after, and this session's host key must be among
// them. The capped not-after must not have passed, and K_att must have
// signed this connection's binding.
func (v *Verifier) checkEpoch(host string, req *raproto.Request, ep *raproto.Epoch, claims *verifier.Claims, now time.Time, res *Result) error {
	if ep == nil {
		return checkErr(host, "response", ErrMalformedResponse, "", "epoch response without the epoch field")
	}
	want := binding.Epoch(ep.KAtt, ep.HostKeys, ep.NotAfter)
	if subtle.ConstantTimeCompare(want[:], claims.UserData) != 1 {
		return bindingErr(host, claims.UserData)
	}
	if !containsBlob(ep.HostKeys, req.HostKey) {
		return checkErr(host, "host-key", ErrHostKeyNotInEpoch,
			"the host key that signed this session is not one the TD attested: a relay or a host key mismatch",
			"%d host keys attested", len(ep.HostKeys))
	}

	notAfter := ep.NotAfter.UTC().Truncate(time.Second)
	if limit := claims.IssuedAt.Add(v.maxEpoch()); limit.Before(notAfter) {
		notAfter = limit
	}
	if !now.Before(notAfter) {
		return checkErr(host, "epoch", ErrEpochExpired, "check that rassh-agent rotates its epoch key within max_epoch",
			"not-after %s (capped at iat plus %s)", notAfter.Format(time.RFC3339), v.maxEpoch())
	}

	key, err := verifyEpochSignature(req, ep)
	if err != nil {
		return checkErr(host, "epoch-signature", ErrEpochSignature,
			"the response was not signed for this connection: a replay or a relay", "%v", err)
	}
	res.EpochNotAfter = notAfter
	res.EpochKey = key
	return nil
}

// verifyEpochSignature checks that K_att (Ed25519) signed binding.Connect over
// the request.
func verifyEpochSignature(req *raproto.Request, ep *raproto.Epoch) (ssh.PublicKey, error) {
	key, err := ssh.ParsePublicKey(ep.KAtt)
	if err != nil {
		return nil, err
	}
	if key.Type() != ssh.KeyAlgoED25519 {
		return nil, errors.New("epoch key is " + key.Type() + ", expected " + ssh.KeyAlgoED25519)
	}
	var sig ssh.Signature
	if err := ssh.Unmarshal(ep.Signature, &sig); err != nil {
		return nil, err
	}
	if len(sig.Rest) != 0 {
		return nil, errors.New("trailing data after the epoch signature")
	}
	connect := binding.Connect(req.Nonce, req.SessionID, req.HostKey)
	if err := key.Verify(connect[:], &sig); err != nil {
		return nil, err
	}
	return key, nil
}

func containsBlob(list [][]byte, b []byte) bool {
	for _, item := range list {
		if bytes.Equal(item, b) {
			return true
		}
	}
	return false
}
