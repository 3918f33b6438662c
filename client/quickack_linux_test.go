package client

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

func quickAckValue(t *testing.T, c *quickAckConn) int {
	t.Helper()
	var v int
	var getErr error
	if err := c.raw.Control(func(fd uintptr) {
		v, getErr = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK)
	}); err != nil || getErr != nil {
		t.Fatalf("getsockopt TCP_QUICKACK: %v, %v", err, getErr)
	}
	return v
}

func TestQuickAckSetAfterRead(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Write([]byte("x"))
		c.Close()
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()

	c, ok := withQuickAck(raw).(*quickAckConn)
	if !ok {
		t.Fatalf("withQuickAck(%T) did not wrap a TCP connection", raw)
	}
	if got := quickAckValue(t, c); got != 1 {
		t.Fatalf("TCP_QUICKACK after dial = %d, want 1", got)
	}
	buf := make([]byte, 1)
	if _, err := c.Read(buf); err != nil {
		t.Fatal(err)
	}
	if got := quickAckValue(t, c); got != 1 {
		t.Fatalf("TCP_QUICKACK after read = %d, want 1", got)
	}
}

func TestQuickAckLeavesOtherConns(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if got := withQuickAck(a); got != a {
		t.Fatalf("withQuickAck(pipe) = %T, want the pipe unchanged", got)
	}
}
