//go:build linux && (amd64 || arm64) && !parley_syscall

package sfu

import "syscall"

// rawSyscalls says the media socket's system calls are raw (the default;
// see batchconn_linux.go). Build with -tags parley_syscall for the usual
// kind (batchconn_syscall.go).
const rawSyscalls = true

// syscall6 makes a system call without telling the Go scheduler, which is
// right only for calls that do not wait (the socket is non-blocking).
func syscall6(trap, a1, a2, a3, a4, a5, a6 uintptr) (uintptr, syscall.Errno) {
	r, _, e := syscall.RawSyscall6(trap, a1, a2, a3, a4, a5, a6)
	return r, e
}
