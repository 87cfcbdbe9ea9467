package office

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind (the
// Refresher's timer among them).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
