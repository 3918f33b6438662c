package rasshd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Message numbers of the ssh-agent protocol (draft-miller-ssh-agent) that the
// HostKeyAgent server reads or writes. Every other request is answered with
// agentFailure.
const (
	agentFailure          = 5
	agentRequestIdentites = 11
	agentIdentitiesAnswer = 12
	agentSignRequest      = 13
	agentSignResponse     = 14
)

// Sign request flags that select the RSA signature algorithm.
const (
	agentRSASHA256 = 2
	agentRSASHA512 = 4
)

// maxAgentMessage bounds one ssh-agent message. sshd's largest request is a
// hostkeys-prove sign request: a label, a session ID and a host key blob of
// at most a few KiB.
const maxAgentMessage = 16 << 10

var errAgentMessage = errors.New("malformed ssh-agent message")

// readAgentMessage reads one length-prefixed ssh-agent message and returns
// its type and contents.
func readAgentMessage(r io.Reader) (byte, []byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n == 0 || n > maxAgentMessage {
		return 0, nil, fmt.Errorf("%w: length %d, expected 1 to %d", errAgentMessage, n, maxAgentMessage)
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(r, msg); err != nil {
		return 0, nil, fmt.Errorf("read ssh-agent message: %w", err)
	}
	return msg[0], msg[1:], nil
}

func writeAgentMessage(w io.Writer, typ byte, body []byte) error {
	buf := make([]byte, 0, 5+len(body))
	buf = binary.BigEndian.AppendUint32(buf, uint32(1+len(body)))
	buf = append(buf, typ)
	buf = append(buf, body...)
	_, err := w.Write(buf)
	return err
}

// signRequest is the body of SSH_AGENTC_SIGN_REQUEST.
type signRequest struct {
	KeyBlob []byte
	Data    []byte
	Flags   uint32
}

func parseSignRequest(b []byte) (*signRequest, error) {
	var req signRequest
	var ok bool
	if req.KeyBlob, b, ok = readString(b); !ok {
		return nil, fmt.Errorf("%w: sign request key blob", errAgentMessage)
	}
	if req.Data, b, ok = readString(b); !ok {
		return nil, fmt.Errorf("%w: sign request data", errAgentMessage)
	}
	if len(b) != 4 {
		return nil, fmt.Errorf("%w: sign request flags", errAgentMessage)
	}
	req.Flags = binary.BigEndian.Uint32(b)
	return &req, nil
}

// readString splits one SSH wire string off b.
func readString(b []byte) (s, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, b, false
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return nil, b, false
	}
	return b[4 : 4+n], b[4+n:], true
}

func appendString(buf, s []byte) []byte {
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(s)))
	return append(buf, s...)
}
