// Package sysres sizes what the operating system lets the process hold open,
// so that a run that cannot fit is refused before it starts instead of
// failing mid-run with "too many open files".
package sysres

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
