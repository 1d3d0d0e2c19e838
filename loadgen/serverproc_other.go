//go:build !unix

package loadgen

import "syscall"

const processGroups = false

func ownGroup() *syscall.SysProcAttr { return nil }

func groupAlive(int) bool { return false }

func signalGroup(int, bool) {}
