package sfu

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(sinkHelperEnv) == "1" {
		// The test binary re-executed as a farm of subscriber clients
		// (see memory_bench_test.go).
		os.Exit(runSinkHelper(os.Stdin, os.Stdout))
	}
	goleak.VerifyTestMain(m)
}
