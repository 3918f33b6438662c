package raproto

import (
	"errors"
	"fmt"
)

// Field limits of a Request, checked by Request.Check.
const (
	// NonceSize is the exact length of a client nonce.
	NonceSize = 32
	// MinSessionIDSize and MaxSessionIDSize bound the exchange hash H: SHA-1
	// (20 bytes) up to SHA-512 (64 bytes).
	MinSessionIDSize = 20
	MaxSessionIDSize = 64
	// MaxHostKeySize bounds the host key blob; a 16384-bit RSA key is about
	// 2 KiB in SSH wire form.
	MaxHostKeySize = 8 << 10
)

// ProtocolVersion is the value of Request.Version and Response.Version.
const ProtocolVersion = 1

// Check reports whether the request is well formed: version, mode and field
// lengths. It does not decide whether the agent can answer it.
func (r *Request) Check() error {
	switch {
	case r.Version != ProtocolVersion:
		return fmt.Errorf("raproto: unsupported request version %d, expected %d", r.Version, ProtocolVersion)
	case r.Mode != ModeEpoch && r.Mode != ModeFresh:
		return fmt.Errorf("raproto: invalid mode %q, expected %q or %q", r.Mode, ModeEpoch, ModeFresh)
	case len(r.Nonce) != NonceSize:
		return fmt.Errorf("raproto: invalid nonce length %d, expected %d bytes", len(r.Nonce), NonceSize)
	case len(r.SessionID) < MinSessionIDSize || len(r.SessionID) > MaxSessionIDSize:
		return fmt.Errorf("raproto: invalid session ID length %d, expected %d to %d bytes",
			len(r.SessionID), MinSessionIDSize, MaxSessionIDSize)
	case len(r.HostKey) == 0:
		return errors.New("raproto: missing host key")
	case len(r.HostKey) > MaxHostKeySize:
		return fmt.Errorf("raproto: host key of %d bytes exceeds %d", len(r.HostKey), MaxHostKeySize)
	}
	return nil
}

// Busy returns the answer an agent sends when its quote queue is full.
func Busy(retryAfterMS int) *Response {
	return &Response{Version: ProtocolVersion, Status: StatusBusy, RetryAfterMS: retryAfterMS,
		Error: "agent busy: quote queue full"}
}

// Failure returns an error answer with a code and a public message.
func Failure(code, msg string) *Response {
	return &Response{Version: ProtocolVersion, Status: StatusError, Error: msg, Code: code}
}
