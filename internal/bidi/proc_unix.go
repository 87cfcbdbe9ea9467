//go:build unix

package bidi

import (
	"os/exec"
	"syscall"
)

// setProcessGroup starts cmd in its own process group, so Close can end
// Firefox's content processes with it.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killProcessGroup kills cmd's process group (whose id is cmd's pid).
func killProcessGroup(cmd *exec.Cmd) {
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
