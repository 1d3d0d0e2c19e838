package session

import (
	"errors"
	"syscall"
)

// Winsock error codes (winerror.h); the syscall package names only a few.
const (
	wsaEMFILE        syscall.Errno = 10024
	wsaENOBUFS       syscall.Errno = 10055
	wsaEADDRNOTAVAIL syscall.Errno = 10049
)

// isLocalFDs reports too many open sockets.
func isLocalFDs(err error) bool { return errors.Is(err, wsaEMFILE) }

// isLocalPorts reports no free local address for a new connection. Windows
// says WSAENOBUFS when its ephemeral ports run out, and WSAEADDRNOTAVAIL for
// an address it cannot use.
func isLocalPorts(err error) bool {
	return errors.Is(err, wsaEADDRNOTAVAIL) || errors.Is(err, wsaENOBUFS)
}
