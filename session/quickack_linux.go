package session

import "syscall"

// setQuickAck asks Linux to acknowledge what arrives next at once rather
// than after its delayed-ACK timer (40 ms and more). See Client.quickAck.
func setQuickAck(fd uintptr) {
	syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
}

const haveQuickAck = true
