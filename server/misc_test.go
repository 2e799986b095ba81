package server_test

import (
	"errors"
	"net"
	"time"
)

var recsSinceEpoch = time.Unix(1, 0)

// fakeListener has an address and accepts nothing.
type fakeListener struct{ addr string }

func (l fakeListener) Accept() (net.Conn, error) { return nil, errors.New("fake listener") }
func (l fakeListener) Close() error              { return nil }
func (l fakeListener) Addr() net.Addr {
	a, _ := net.ResolveTCPAddr("tcp", l.addr)
	return a
}
