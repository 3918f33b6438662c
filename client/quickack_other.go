//go:build !linux

package client

import "net"

// withQuickAck returns c unchanged: TCP_QUICKACK exists only on Linux.
func withQuickAck(c net.Conn) net.Conn { return c }
