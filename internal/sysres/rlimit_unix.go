//go:build unix

package sysres

import "syscall"

// RaiseFileLimit raises the soft open-file limit to the hard limit where the
// system allows it and returns the limit then in force. Go's runtime does
// the same at start on most Unix systems; doing it here as well makes the
// check below independent of that, and catches a hard limit that is
// "unlimited" but which the kernel caps (macOS refuses a soft limit above
// kern.maxfilesperproc, so the raise fails and the old limit stays).
func RaiseFileLimit() (FileLimit, bool) {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) != nil {
		return FileLimit{}, false
	}
	if rl.Cur < rl.Max {
		want := rl
		want.Cur = rl.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) == nil {
			rl = want
		}
	}
	return FileLimit{Soft: uint64(rl.Cur), Hard: uint64(rl.Max)}, true
}
