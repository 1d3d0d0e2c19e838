//go:build !unix

package sysres

// RaiseFileLimit has nothing to raise here: Windows has no per-process limit
// on sockets that a user can lower or raise (each socket is a kernel handle,
// bounded by memory), so ok is false and CheckFiles checks nothing.
func RaiseFileLimit() (lim FileLimit, ok bool) { return FileLimit{}, false }
