package client

import (
	"errors"
	"fmt"

	"github.com/rassh/rassh/verifier"
)

// Sentinel errors, one per way the ra-ssh check or the host key check can
// fail. Every error the package returns wraps exactly one of them inside a
// *CheckError, so callers and tests can tell with errors.Is why a host was
// rejected.
var (
	// ErrNoRASSH: the host offers neither the agent socket nor the subsystem.
	ErrNoRASSH = errors.New("host does not offer ra-ssh")
	// ErrAgentUnreachable: the host offers ra-ssh but no response came back.
	ErrAgentUnreachable = errors.New("the host's ra-ssh agent did not respond")
	// ErrAgentBusy: the agent's quote queue stayed full.
	ErrAgentBusy = errors.New("the host's ra-ssh agent is busy")
	// ErrAgentFailure: the agent responded with an error status.
	ErrAgentFailure = errors.New("the host's ra-ssh agent returned an error")
	// ErrMalformedResponse: the response is not a valid ra-ssh response.
	ErrMalformedResponse = errors.New("malformed ra-ssh response")
	// ErrModeMismatch: the response is in a weaker mode than the one requested.
	ErrModeMismatch = errors.New("ra-ssh response in another mode")
	// ErrNotSessionBound: the agent did not sign this session ID itself.
	ErrNotSessionBound = errors.New("ra-ssh response is not session-bound")
	// ErrToken: the attestation token failed verification.
	ErrToken = errors.New("attestation token rejected")
	// ErrTokenUndecided: the token could not be verified, for example because
	// the issuer's key set could not be fetched.
	ErrTokenUndecided = errors.New("attestation token could not be verified")
	// ErrStaleToken: the token is older than the maximum token age.
	ErrStaleToken = errors.New("attestation token too old")
	// ErrPolicy: the attested claims do not meet the client's policy.
	ErrPolicy = errors.New("attested claims do not meet the policy")
	// ErrBinding: the token's binding value is not the one this connection
	// expects, so the response was made for another nonce, session or host key.
	ErrBinding = errors.New("binding value does not match this connection")
	// ErrHostKeyNotInEpoch: the epoch does not cover the host key that signed
	// this session.
	ErrHostKeyNotInEpoch = errors.New("host key not covered by the attested epoch")
	// ErrEpochExpired: the epoch's not-after, capped at the token's iat plus
	// the maximum epoch length, has passed.
	ErrEpochExpired = errors.New("attested epoch expired")
	// ErrEpochSignature: K_att's signature over this connection is invalid.
	ErrEpochSignature = errors.New("invalid epoch key signature")
	// ErrRASSHRequired: the host's certificate requires ra-ssh and the
	// configuration would have skipped it.
	ErrRASSHRequired = errors.New("host certificate requires ra-ssh")
	// ErrHostKey: the host key or certificate is not trusted.
	ErrHostKey = errors.New("host key not trusted")
	// ErrHostKeyRevoked: the host key, its certificate or its CA is revoked.
	ErrHostKeyRevoked = errors.New("host key revoked")
)

// CheckError is a failed check. Check names the step (for example "binding"
// or "token"). Err wraps one of the sentinel errors with the offending public
// values, and Hint tells the user what to check.
type CheckError struct {
	Host  string
	Check string
	Err   error
	Hint  string
}

func (e *CheckError) Error() string {
	msg := fmt.Sprintf("%s: %s check failed: %v", e.Host, e.Check, e.Err)
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

func (e *CheckError) Unwrap() error { return e.Err }

// IsUndecided reports whether err means that the check could not be done,
// as opposed to a rejection: the agent was unreachable or busy, or the
// token's key set could not be fetched. `rassh verify` exits with a distinct
// status for it; every other command fails closed either way.
func IsUndecided(err error) bool {
	return errors.Is(err, ErrAgentUnreachable) || errors.Is(err, ErrAgentBusy) ||
		errors.Is(err, ErrTokenUndecided) || verifier.IsUndecided(err)
}

func checkErr(host, check string, sentinel error, hint string, format string, args ...any) error {
	detail := fmt.Sprintf(format, args...)
	err := sentinel
	if detail != "" {
		err = fmt.Errorf("%w: %s", sentinel, detail)
	}
	return &CheckError{Host: host, Check: check, Err: err, Hint: hint}
}

func wrapCheckErr(host, check string, sentinel error, hint string, cause error) error {
	return &CheckError{Host: host, Check: check, Err: fmt.Errorf("%w: %w", sentinel, cause), Hint: hint}
}
