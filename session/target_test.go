package session

import (
	"context"
	"net"
	"net/netip"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func TestParseTargetPortAndUnix(t *testing.T) {
	for in, want := range map[string]string{
		"mx.example.com":      "mx.example.com:24",
		"127.0.0.1:2424":      "127.0.0.1:2424",
		"::1":                 "[::1]:24",
		"unix:/run/lmtp.sock": "unix:/run/lmtp.sock",
	} {
		if got, err := ParseTargetPort(in, 24); err != nil || got != want {
			t.Errorf("ParseTargetPort(%q, 24) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"unix:", "", "a b"} {
		if got, err := ParseTargetPort(in, 24); err == nil {
			t.Errorf("ParseTargetPort(%q) = %q, want an error", in, got)
		}
	}
	if got, _ := ParseTarget("unix:/x"); got != "unix:/x" {
		t.Errorf("ParseTarget(unix:/x) = %q", got)
	}
}

// Dial binds to SourceAddr, and reaches a Unix socket given as unix:/path.
func TestDialSourceAddrAndUnix(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	src := netip.MustParseAddr("127.0.0.1")
	if runtime.GOOS == "linux" {
		src = netip.MustParseAddr("127.0.0.2") // all of 127/8 is local on Linux
	}
	accepted := make(chan net.Addr, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c.RemoteAddr()
			c.Close()
		}
	}()
	c, err := Dial(context.Background(), ln.Addr().String(), Options{Timeout: 2 * time.Second, SourceAddr: src})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	select {
	case a := <-accepted:
		if ip := a.(*net.TCPAddr).AddrPort().Addr(); ip != src {
			t.Errorf("connection came from %v, want %v", ip, src)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no connection")
	}

	path := filepath.Join(t.TempDir(), "s")
	ul, err := net.Listen("unix", path)
	if err != nil {
		t.Skipf("no Unix sockets here: %v", err)
	}
	defer ul.Close()
	go func() {
		if c, err := ul.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err = Dial(context.Background(), "unix:"+path, Options{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}
