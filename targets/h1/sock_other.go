//go:build !linux

package h1

import (
	"io"
	"net"
)

// sock is net.Conn's own I/O where raw socket calls are not wired up.
type sock struct{ io.ReadWriter }

func newSock(net.Conn) *sock { return nil }

// sendRecv writes nothing: the caller writes and reads as usual.
func (s *sock) sendRecv(req, p []byte) (wrote, n int, err error) { return 0, 0, nil }
