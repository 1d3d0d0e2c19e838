//go:build unix

package loadgen

import "syscall"

const processGroups = true

func ownGroup() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// groupAlive reports whether any process of group pgid is left; a zombie
// leader not yet reaped counts, so callers also wait for the reap.
func groupAlive(pgid int) bool { return syscall.Kill(-pgid, 0) == nil }

func signalGroup(pgid int, kill bool) {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	syscall.Kill(-pgid, sig)
}
