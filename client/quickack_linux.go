package client

import (
	"net"

	"golang.org/x/sys/unix"
)

// quickAckConn turns off TCP delayed acknowledgements after every read, so
// that the client acknowledges each server packet at once.
//
// Why: sshd enables TCP_NODELAY only when a session starts. Before that,
// Nagle's algorithm holds each small packet it sends (the ra-ssh channel's
// EOF and CLOSE, then the session's open confirmation) until the client has
// acknowledged the previous one, and a client that has nothing to send
// delays that acknowledgement by Linux's minimum of 40 ms. Linux clears
// TCP_QUICKACK again on its own, so it is set after each read.
// BENCHMARKS.md has the measurement.
type quickAckConn struct {
	*net.TCPConn
	raw interface{ Control(func(uintptr)) error }
}

func withQuickAck(c net.Conn) net.Conn {
	tcp, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	raw, err := tcp.SyscallConn()
	if err != nil {
		return c
	}
	q := &quickAckConn{TCPConn: tcp, raw: raw}
	q.quickAck()
	return q
}

func (c *quickAckConn) Read(b []byte) (int, error) {
	n, err := c.TCPConn.Read(b)
	c.quickAck()
	return n, err
}

// quickAck sets TCP_QUICKACK; a failure only costs latency, so it is ignored.
func (c *quickAckConn) quickAck() {
	c.raw.Control(func(fd uintptr) {
		unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1)
	})
}
