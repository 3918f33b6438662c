package rasshd

import (
	"bytes"
	"fmt"
)

// hostkeysProveLabel opens the data sshd signs to prove it holds a host key
// when a client sent hostkeys-00@openssh.com (OpenSSH PROTOCOL, section 2.5).
const hostkeysProveLabel = "hostkeys-prove-00@openssh.com"

// signKind classifies the data of a sign request.
type signKind int

const (
	signExchangeHash signKind = iota + 1
	signHostkeysProve
)

// hostkeysProve is a parsed hostkeys-prove request.
type hostkeysProve struct {
	SessionID []byte
	HostKey   []byte
}

// classifySignData accepts only the two shapes of data sshd signs with a host
// key: an exchange hash (SHA-1, SHA-256, SHA-384 or SHA-512 output) or a
// hostkeys-prove request. Everything else is rejected, so the socket cannot
// be used to sign arbitrary messages with the host key.
func classifySignData(data []byte) (signKind, *hostkeysProve, error) {
	switch len(data) {
	case 20, 32, 48, 64:
		return signExchangeHash, nil, nil
	}

	label, rest, ok := readString(data)
	if !ok || !bytes.Equal(label, []byte(hostkeysProveLabel)) {
		return 0, nil, fmt.Errorf("refusing to sign %d bytes: neither an exchange hash nor a hostkeys-prove request", len(data))
	}
	var p hostkeysProve
	if p.SessionID, rest, ok = readString(rest); !ok || !isHashSize(len(p.SessionID)) {
		return 0, nil, fmt.Errorf("refusing to sign hostkeys-prove request: invalid session ID")
	}
	if p.HostKey, rest, ok = readString(rest); !ok || len(p.HostKey) == 0 || len(rest) != 0 {
		return 0, nil, fmt.Errorf("refusing to sign hostkeys-prove request: invalid host key field")
	}
	return signHostkeysProve, &p, nil
}

func isHashSize(n int) bool { return n == 20 || n == 32 || n == 48 || n == 64 }
