//go:build !unix

package bidi

import "os/exec"

func setProcessGroup(cmd *exec.Cmd) {}

// killProcessGroup kills Firefox alone where there are no process groups.
func killProcessGroup(cmd *exec.Cmd) { cmd.Process.Kill() }
