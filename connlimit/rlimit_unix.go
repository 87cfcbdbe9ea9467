//go:build unix

package connlimit

import "syscall"

// fileLimit is the process's soft RLIMIT_NOFILE (Go raises it to the hard
// limit at start on Linux).
func fileLimit() (uint64, bool) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == 0 {
		return 0, false
	}
	return uint64(rl.Cur), true
}
