package session

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// unixPrefix marks a target that is a Unix domain socket.
const unixPrefix = "unix:"

// ParseTargetPort is ParseTarget with another default port: 24 for LMTP
// (RFC 2033 7), for example.
func ParseTargetPort(s string, port int) (string, error) {
	if path, ok := strings.CutPrefix(s, unixPrefix); ok {
		if path == "" || strings.ContainsAny(path, "\x00") {
			return "", fmt.Errorf("target %q: want unix:/path/to/socket", s)
		}
		return s, nil
	}
	if s == "" {
		return "", errors.New("empty target")
	}
	if host, p, err := net.SplitHostPort(s); err == nil {
		if n, err := strconv.Atoi(p); host == "" || err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("target %q: want HOST[:PORT] with a port from 1 to 65535", s)
		}
		return net.JoinHostPort(host, p), nil
	}
	host := s
	if len(host) > 2 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	if ip := net.ParseIP(host); ip == nil {
		for _, c := range host {
			if c == ':' || c == '[' || c == ']' || c == ' ' {
				return "", fmt.Errorf("target %q: want HOST[:PORT]", s)
			}
		}
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}

// ParseSourceAddr checks a local address to bind outgoing connections to:
// an IP address, v4 or v6.
func ParseSourceAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("source address %q: want an IP address", s)
	}
	return a, nil
}

// dialer says how to reach addr: a Unix socket, or TCP from
// opts.SourceAddr when one is set (any port).
func dialer(addr string, opts Options) (network, address string, d net.Dialer, err error) {
	d.Timeout = opts.Timeout
	if path, ok := strings.CutPrefix(addr, unixPrefix); ok {
		return "unix", path, d, nil
	}
	if opts.SourceAddr.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: opts.SourceAddr.AsSlice(), Zone: opts.SourceAddr.Zone()}
	}
	return "tcp", addr, d, nil
}
