//go:build !unix

package h1

import (
	"net"
	"syscall"
)

func rawConn(net.Conn) syscall.RawConn { return nil }

func (c *conn) alive() bool { return true }
