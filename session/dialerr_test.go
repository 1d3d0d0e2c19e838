package session

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// A connect that cannot get a local address is this host's limit, not the
// server's refusal. Binding to an address this host does not have fails the
// same way (EADDRNOTAVAIL) as running out of ephemeral ports, and sends
// nothing anywhere.
func TestDialClassLocalPorts(t *testing.T) {
	d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1)}} // RFC 5737 TEST-NET-1
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := d.Dial("tcp", ln.Addr().String())
	if err == nil {
		c.Close()
		t.Skip("this host binds to addresses it does not have (ip_nonlocal_bind)")
	}
	if got := dialClass(context.Background(), err); got != ClassLocalPorts {
		t.Fatalf("dialClass(%v) = %v, want %v", err, got, ClassLocalPorts)
	}
	e := &Error{Phase: PhaseConnect, Class: ClassLocalPorts, Err: err}
	if !errors.Is(e, ErrLocalPorts) {
		t.Error("a local_ports error does not unwrap to ErrLocalPorts")
	}
}
