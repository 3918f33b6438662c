// Package raproto defines the messages of the ra-ssh protocol, which a client
// speaks to the host agent over an SSH channel (the ra-ssh@rassh subsystem or
// a direct-streamlocal channel to the agent's socket). PROTOCOL.ra-ssh at the
// repository root is the specification; this package is its Go form.
package raproto

import "time"

// Modes a client may request.
const (
	ModeEpoch = "epoch"
	ModeFresh = "fresh"
)

// Response statuses.
const (
	StatusOK    = "ok"
	StatusBusy  = "busy"  // the quote queue is full; retry after RetryAfterMS
	StatusError = "error" // Error contains the reason
)

// Error codes of a StatusError response.
const (
	CodeBadRequest     = "bad_request"        // the request failed Request.Check or could not be decoded
	CodeUnknownSession = "unknown_session"    // the agent never signed this session ID
	CodeWrongSession   = "session_mismatch"   // the connection belongs to an sshd process with another session ID
	CodeWrongHostKey   = "host_key_mismatch"  // the host key is not one the agent serves
	CodeModeDisabled   = "mode_unavailable"   // the agent does not serve the requested mode
	CodeAttestation    = "attestation_failed" // evidence or token could not be produced
	// CodeAgentDown comes from the subsystem responder when the agent's
	// socket does not accept connections.
	CodeAgentDown = "agent_unavailable"
)

// SubsystemName is the sshd subsystem that relays to the agent.
const SubsystemName = "ra-ssh@rassh"

// DefaultSocket is the agent's ra-ssh socket, the target of a
// direct-streamlocal@openssh.com channel and of the responder.
const DefaultSocket = "/run/ra-ssh/ra-ssh.sock"

// Request is a request to the agent to attest the current connection.
type Request struct {
	Version int    `json:"version"` // 1
	Mode    string `json:"mode"`    // ModeEpoch or ModeFresh
	Nonce   []byte `json:"nonce"`   // 32 bytes from the client's CSPRNG
	// SessionID is the exchange hash H of the connection's first key exchange
	// as the client computed it.
	SessionID []byte `json:"session_id"`
	// HostKey is the server host key (plain public key, SSH wire form) that
	// signed this session.
	HostKey []byte `json:"host_key"`
}

// Response is the agent's response to a Request.
type Response struct {
	Version int    `json:"version"`
	Status  string `json:"status"`
	Error   string `json:"error,omitempty"`
	// Code is a stable machine-readable reason for StatusError (Code*).
	Code         string `json:"code,omitempty"`
	RetryAfterMS int    `json:"retry_after_ms,omitempty"`
	Mode         string `json:"mode,omitempty"`
	// SessionBound is true only when the agent signed this session ID itself
	// as sshd's HostKeyAgent.
	SessionBound bool `json:"session_bound"`
	// Token is the attestation token (MAA or the rassh token service). In
	// fresh mode its binding value is binding.Connect over the request; in
	// epoch mode it is binding.Epoch over Epoch.
	Token string `json:"token,omitempty"`
	Epoch *Epoch `json:"epoch,omitempty"`
}

// Epoch is the epoch-mode part of a response.
type Epoch struct {
	KAtt     []byte    `json:"k_att"`     // Ed25519 public key, SSH wire form
	HostKeys [][]byte  `json:"host_keys"` // the host keys the epoch covers, SSH wire form
	NotAfter time.Time `json:"not_after"` // as bound: RFC 3339, UTC, whole seconds
	// Signature is an SSH signature (wire form) by K_att over the
	// binding.Connect value of this request.
	Signature []byte `json:"signature"`
}
