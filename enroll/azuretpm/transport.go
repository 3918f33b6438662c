package azuretpm

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"sync"

	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/linuxtpm"
)

// maxResponseSize bounds a TPM message read from a socket. TPM 2.0
// responses are a few KiB, so the bound only stops a broken peer.
const maxResponseSize = 64 << 10

// OpenTPM opens the TPM at path: a character device such as /dev/tpmrm0, or
// a Unix socket that speaks the raw TPM command protocol, as swtpm's
// "--server type=unixio" does.
func OpenTPM(path string) (transport.TPMCloser, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open tpm: %w", err)
	}
	if info.Mode()&os.ModeSocket == 0 {
		tpm, err := linuxtpm.Open(path)
		if err != nil {
			return nil, fmt.Errorf("open tpm %s: %w", path, err)
		}
		return tpm, nil
	}
	conn, err := net.Dial("unix", path)
	if err != nil {
		return nil, fmt.Errorf("open tpm: %w", err)
	}
	return &SocketTPM{Conn: conn}, nil
}

// SocketTPM sends TPM commands over one stream connection and reads each
// response by the size in its header, so a response split across reads is
// reassembled.
type SocketTPM struct {
	Conn net.Conn
	mu   sync.Mutex
}

// Send sends one command and returns the whole response.
func (t *SocketTPM) Send(command []byte) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, err := t.Conn.Write(command); err != nil {
		return nil, fmt.Errorf("tpm socket: write command: %w", err)
	}
	return ReadMessage(t.Conn)
}

// Close closes the connection.
func (t *SocketTPM) Close() error { return t.Conn.Close() }

// ReadMessage reads one TPM command or response: a 10-byte header (tag,
// uint32 big-endian total size, code) and the rest of the message.
func ReadMessage(r io.Reader) ([]byte, error) {
	header := make([]byte, 10)
	if _, err := io.ReadFull(r, header); err != nil {
		return nil, fmt.Errorf("tpm socket: read header: %w", err)
	}
	size := binary.BigEndian.Uint32(header[2:6])
	if size < 10 || size > maxResponseSize {
		return nil, fmt.Errorf("tpm socket: invalid message size %d", size)
	}
	msg := make([]byte, size)
	copy(msg, header)
	if _, err := io.ReadFull(r, msg[10:]); err != nil {
		return nil, fmt.Errorf("tpm socket: read body: %w", err)
	}
	return msg, nil
}
