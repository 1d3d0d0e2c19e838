package session

import (
	"context"
	"errors"
	"net"
	"os"
)

// bindError returns the failed bind(2) of the local address behind err, or
// nil when err came from elsewhere.
func bindError(err error) *os.SyscallError {
	var se *os.SyscallError
	if errors.As(err, &se) && se.Syscall == "bind" {
		return se
	}
	return nil
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
	case bindError(err) != nil:
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
