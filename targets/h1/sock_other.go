//go:build !linux

package h1

import (
	"io"
	"net"
)

// sock is net.Conn's own I/O where raw socket calls are not wired up.
type sock struct{ io.ReadWriter }

func newSock(net.Conn) *sock { return nil }
