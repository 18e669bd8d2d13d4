//go:build unix

package h1

import (
	"crypto/tls"
	"net"
	"syscall"
	"time"
)

// rawConn returns the socket under nc for alive, or nil.
func rawConn(nc net.Conn) syscall.RawConn {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	if sc, ok := nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			return rc
		}
	}
	return nil
}

// alive reports whether an idle connection still looks usable: the peer
// has neither closed it nor sent anything unasked (a TLS close_notify
// alert, say). It peeks without blocking, one system call.
func (c *conn) alive() bool {
	if c.raw == nil {
		return true
	}
	// The last request's deadline may have passed while the connection
	// sat idle; the peek must not fail on it.
	if c.nc.SetReadDeadline(time.Time{}) != nil {
		return false
	}
	ok := true
	var b [1]byte
	err := c.raw.Read(func(fd uintptr) bool {
		// Nothing to read is the only good answer: 0 bytes is the peer's
		// FIN, a byte is something no request asked for.
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		ok = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK || err == syscall.EINTR
		return true
	})
	return ok && err == nil
}
