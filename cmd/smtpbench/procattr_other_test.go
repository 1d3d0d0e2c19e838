//go:build !unix

package main

import "syscall"

// ownProcessGroup has no process groups to choose here: a console's ^C
// reaches the child too, which is harmless for a test server.
func ownProcessGroup() *syscall.SysProcAttr { return nil }
