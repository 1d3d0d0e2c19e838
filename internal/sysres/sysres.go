// Package sysres sizes what the operating system lets the process hold open,
// so that a run that cannot fit is refused before it starts instead of
// failing mid-run with "too many open files".
package sysres

import "fmt"

// Headroom is how many descriptors a run needs besides its sessions: the
// standard streams, the network poller's own descriptors, the listener of a
// built-in sink, an --out or --cpuprofile file, and the DNS resolver's
// sockets, with room to spare.
const Headroom = 64

// FileLimit is the open-file limit (RLIMIT_NOFILE on Unix) in force.
type FileLimit struct {
	Soft uint64 // what the process may open now
	Hard uint64 // what an unprivileged process may raise Soft to
}

// FitFiles raises the limit (see RaiseFileLimit) and reports whether need
// descriptors fit under it. Where the platform has no such limit, everything
// fits.
func FitFiles(need uint64) (FileLimit, bool) {
	lim, ok := RaiseFileLimit()
	return lim, !ok || need <= lim.Soft
}

// CheckSessions raises the limit and refuses, with what to do about it, a
// run of sessions that cannot fit: each session holds a socket, and a
// built-in sink in the same process holds the other end of each.
func CheckSessions(sessions int, builtinSink bool) error {
	need := uint64(sessions) + Headroom
	what := fmt.Sprintf("-c %d", sessions)
	if builtinSink {
		need += uint64(sessions)
		what += " with the built-in sink"
	}
	lim, ok := FitFiles(need)
	switch {
	case ok:
		return nil
	case need <= lim.Hard: // only a refused raise gets here
		return fmt.Errorf("%s needs about %d open files but the limit is %d: run `ulimit -n %d` first, or lower -c", what, need, lim.Soft, need)
	}
	return fmt.Errorf("%s needs about %d open files but the limit is %d (hard limit %d): raise the hard limit (as root: `ulimit -Hn %d`, or nofile in /etc/security/limits.conf), then `ulimit -n %d`; or lower -c",
		what, need, lim.Soft, lim.Hard, need, need)
}
