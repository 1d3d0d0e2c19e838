package report

import "github.com/smtpbench/smtpbench/session"

// classHints say what to do about failures that describe this host or the
// command line rather than the server under test.
var classHints = map[session.Class]string{
	session.ClassResolve: "the target's host name did not resolve: check its spelling, or give an address",
	session.ClassLocalFDs: "smtpbench ran out of file descriptors: raise `ulimit -n` (and the hard limit, as root), " +
		"or lower -c",
	session.ClassLocalPorts: "out of local ports: use --per-conn 0 to reuse connections, or widen " +
		"net.ipv4.ip_local_port_range (Linux); a closed connection's port stays in TIME_WAIT for a minute or more",
}
