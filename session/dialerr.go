package session

import (
	"context"
	"errors"
	"net"
)

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
	case isLocalFDs(err):
		return ClassLocalFDs
	case isLocalPorts(err):
		return ClassLocalPorts
	case isTimeout(err):
		return ClassTimeout
	}
	return ClassRefused
}
