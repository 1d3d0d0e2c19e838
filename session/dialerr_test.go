package session

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Out of ephemeral ports, connect(2) fails with EADDRNOTAVAIL: this host's
// limit, not the server's refusal. Binding a --source-addr that this host
// does not have fails with the same errno, but in bind(2), and is refused
// with its own explanation, not blamed on the ports.
func TestDialClassLocalPorts(t *testing.T) {
	exhausted := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.EADDRNOTAVAIL)}
	if got := dialClass(context.Background(), exhausted); got != ClassLocalPorts {
		t.Fatalf("dialClass(%v) = %v, want %v", exhausted, got, ClassLocalPorts)
	}
	e := &Error{Phase: PhaseConnect, Class: ClassLocalPorts, Err: exhausted}
	if !errors.Is(e, ErrLocalPorts) {
		t.Error("a local_ports error does not unwrap to ErrLocalPorts")
	}

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
	if got := dialClass(context.Background(), err); got != ClassRefused {
		t.Errorf("dialClass(%v) = %v, want %v", err, got, ClassRefused)
	}
	bad := &Error{Phase: PhaseConnect, Class: ClassRefused, Err: err}
	if want := "cannot use the local source address"; !strings.Contains(bad.Explain(), want) {
		t.Errorf("Explain() = %q, want it to say %q", bad.Explain(), want)
	}
}
