package sfu

import (
	"syscall"
	"time"
)

// threadCPUTime returns the user+system CPU time of the calling OS thread
// (getrusage RUSAGE_THREAD); the caller locks its goroutine to the thread.
func threadCPUTime() time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD, getrusage(2)
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// processCPUTime returns the user+system CPU time of the whole process
// (getrusage RUSAGE_SELF).
func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
