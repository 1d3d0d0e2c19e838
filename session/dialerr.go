package session

import (
	"context"
	"errors"
	"net"
	"os"
)

// isBindError reports whether err came from binding the local address.
func isBindError(err error) bool {
	var se *os.SyscallError
	return errors.As(err, &se) && se.Syscall == "bind"
}

// dialClass says why a connect failed. The local limits come before the
// rest because they are about this host, not the server: a run that hits
// them measures smtpbench, and the report says how to lift them.
func dialClass(ctx context.Context, err error) Class {
	var dnsErr *net.DNSError
	switch {
	case ctx.Err() != nil:
		return ClassAborted
	case errors.As(err, &dnsErr):
		// Also when the resolver timed out: the name is the problem to
		// look at, not the server.
		return ClassResolve
	case isBindError(err):
		// A --source-addr that cannot be bound (not an address of this
		// host) fails with the same errno as port exhaustion, but in bind,
		// not connect: the connection could not be made at all.
		return ClassRefused
	case isLocalFDs(err):
		return ClassLocalFDs
	case isLocalPorts(err):
		return ClassLocalPorts
	case isTimeout(err):
		return ClassTimeout
	}
	return ClassRefused
}
