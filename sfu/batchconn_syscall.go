//go:build linux && (amd64 || arm64) && parley_syscall

package sfu

import "syscall"

// rawSyscalls is false when built with -tags parley_syscall: the media
// socket's system calls are made the usual way, telling the Go scheduler
// (see batchconn_linux.go for what that costs).
const rawSyscalls = false

// syscall6 makes a system call the usual way.
func syscall6(trap, a1, a2, a3, a4, a5, a6 uintptr) (uintptr, syscall.Errno) {
	r, _, e := syscall.Syscall6(trap, a1, a2, a3, a4, a5, a6)
	return r, e
}
