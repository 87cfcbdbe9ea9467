//go:build !linux

package sfu

import "time"

// threadCPUTime is not measured outside Linux.
func threadCPUTime() time.Duration { return 0 }

// processCPUTime is not measured outside Linux.
func processCPUTime() time.Duration { return 0 }
