//go:build !windows

package session

import (
	"errors"
	"syscall"
)

// isLocalFDs reports the process (EMFILE) or system (ENFILE) file table full.
func isLocalFDs(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// isLocalPorts reports no free local address for a new connection, which on
// a connect means the ephemeral ports for that destination are all taken
// (most of them in TIME_WAIT after many short connections).
func isLocalPorts(err error) bool { return errors.Is(err, syscall.EADDRNOTAVAIL) }
