//go:build !linux

package rawsock

import (
	"errors"
	"net"
	"time"
)

// LazySupported says whether NewPoller can work here: not on this system.
const LazySupported = false

// Poller is Linux's only (see lazy_linux.go).
type Poller struct{}

// NewPoller fails here.
func NewPoller() (*Poller, error) { return nil, errors.New("rawsock: lazy reads need Linux") }

func (p *Poller) Close()   {}
func (p *Poller) Harvest() {}
func (p *Poller) Wrap(net.Conn) (*Lazy, error) {
	return nil, errors.New("rawsock: lazy reads need Linux")
}

// Lazy is Linux's only.
type Lazy struct{ net.Conn }

func (c *Lazy) Readable() bool     { return false }
func (c *Lazy) Quiet() bool        { return true }
func (c *Lazy) Arrived() time.Time { return time.Time{} }

func (p *Poller) Closed() bool { return true }
