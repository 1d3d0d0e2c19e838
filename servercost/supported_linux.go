//go:build linux

package servercost

// Supported reports whether this system can measure a server's cost.
const Supported = true
